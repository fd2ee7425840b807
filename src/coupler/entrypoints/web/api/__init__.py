"""The JSON REST API under /api."""

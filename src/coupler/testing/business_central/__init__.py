"""A local Business Central API v2.0 over SQLite."""

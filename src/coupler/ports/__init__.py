"""Ports: the abstract interfaces the services use, implemented by adapters and by in-memory fakes."""

"""The in-memory connector: tables in dicts, for tests and users who need no database."""

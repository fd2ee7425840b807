"""The SQL connector: any database SQLAlchemy opens, one statement per batch."""

"""The state store in SQLite or PostgreSQL (SQLAlchemy Core, Alembic migrations)."""

"""Creating SQLAlchemy engines the way coupler needs them, for connectors and the state store alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_sql_engine"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 16 * 1024  # per connection; SQLite's default is 2 MiB


def create_sql_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. For SQLite files: WAL, ``synchronous=NORMAL``, a 16 MiB page cache, a busy timeout,
    foreign keys on, and
    real transactions (the driver's own implicit ones are switched off and SQLAlchemy emits ``BEGIN``), so a failed
    batch rolls back completely. Other databases get connections checked before use."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver coupler installs
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    engine = create_engine(parsed, **kwargs)
    in_memory = not parsed.database or parsed.database == ":memory:"

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the "begin" listener below emits BEGIN
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(
                    f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"
                )  # keys are random GUIDs: keep indexes in memory
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine

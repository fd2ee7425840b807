"""Engines for the state store: SQLite tuned for a local single-file store, any other URL as given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_state_engine"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_state_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. For SQLite: WAL, ``synchronous=NORMAL``, a busy timeout, foreign keys on, and real
    transactions (the driver's own implicit ones are switched off and SQLAlchemy emits ``BEGIN``)."""
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event emits BEGIN
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")

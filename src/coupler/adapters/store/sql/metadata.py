"""What connectors learnt about their systems' schemas, per connection, in ``coupler_metadata``: one row per
answer kept (a ``$metadata`` document of a megabyte is one text value)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select

from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import upsert_row
from coupler.ports.store import KnownEntry, Metadata

__all__ = ["SqlMetadata"]

_M = schema.known_metadata.c


class SqlMetadata(Metadata):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def entries(self, connection: str) -> list[KnownEntry]:
        stmt = select(_M.key, _M.value, _M.learnt_at).where(_M.connection == connection).order_by(_M.key)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [KnownEntry(key=row.key, value=row.value, learnt_at=row.learnt_at) for row in rows]

    def put(self, connection: str, key: str, value: str, *, at: datetime) -> None:
        row = {"connection": connection, "key": key, "value": value, "learnt_at": at}
        with self._engine.begin() as conn:
            upsert_row(conn, schema.known_metadata, row, ("connection", "key"))

    def forget(self, connection: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(schema.known_metadata).where(_M.connection == connection))

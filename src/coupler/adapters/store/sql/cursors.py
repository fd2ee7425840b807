"""Where runs resume and what they hold: watermarks and the deleted-entries feeds' cursors in
``coupler_watermarks``, intents to create in ``coupler_intents``, named locks in ``coupler_locks``.

A batch of intents is one row (the pairs as JSON): cheap to write before a chunk's records are created and to drop
once they are coupled. Adding an intent again for a source key replaces the earlier one (the newest row wins).

Locks are safe between processes sharing the database. Taking a lock is one conditional upsert: insert the row, or,
if the name is taken, update it only where the holder is the same owner or the lock expired. The database decides
atomically (PostgreSQL locks the conflicting row and re-checks the condition on its latest version; SQLite runs one
writer at a time), so of two racing processes exactly one sees a changed row. Renewing is an update where the
holder is still the same owner: a lock that was taken over or released in between is not renewed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from coupler.adapters.store.encoding import INTENT_FIELDS, intent_batch_values, intents_from_row
from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import upsert_insert, upsert_row
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import CreateIntent, IntentKey, Lock
from coupler.ports.store import Cursors

__all__ = ["SqlCursors"]

_W = schema.watermarks.c
_IN = schema.intents.c
_L = schema.locks.c
_INTENT_COLUMNS = [_IN[name] for name in INTENT_FIELDS]


class SqlCursors(Cursors):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # watermarks ----------------------------------------------------------------------------------------------
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        stmt = select(_W.value, _W.last_key).where(_W.mapping == mapping, _W.side == Side(side).value)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None or row.value is None:
            return None
        return ChangeCursor(stamp=row.value, key=row.last_key)

    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        row = {
            "mapping": mapping,
            "side": Side(side).value,
            "value": None if cursor is None else cursor.stamp,
            "last_key": None if cursor is None else cursor.key,
        }
        with self._engine.begin() as conn:
            upsert_row(conn, schema.watermarks, row, ("mapping", "side"))  # leaves the deletions cursor as it is

    # deleted-entries feeds -------------------------------------------------------------------------------------
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        stmt = select(_W.deletions_cursor).where(_W.mapping == mapping, _W.side == Side(side).value)
        with self._engine.connect() as conn:
            cursor: str | None = conn.scalar(stmt)
        return cursor

    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        row = {"mapping": mapping, "side": Side(side).value, "deletions_cursor": cursor}
        with self._engine.begin() as conn:
            upsert_row(conn, schema.watermarks, row, ("mapping", "side"))  # leaves the watermark as it is

    # intents to create -----------------------------------------------------------------------------------------
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        groups: dict[tuple[str, Direction], list[CreateIntent]] = {}
        for i in intents:
            groups.setdefault((i.mapping, Direction(i.direction)), []).append(i)
        with self._engine.begin() as conn:
            for (mapping, direction), batch in groups.items():
                conn.execute(insert(schema.intents).values(intent_batch_values(mapping, direction, batch)))

    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]:
        stmt: Select[Any] = select(*_INTENT_COLUMNS).where(*_of_intents(mapping, direction)).order_by(_IN.id)
        newest: dict[str, CreateIntent] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(stmt):
                for intent in intents_from_row(row):
                    newest.pop(intent.source_key, None)
                    newest[intent.source_key] = intent
        found = sorted(newest.values(), key=lambda i: (i.at, i.source_key))
        return found[:limit]

    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
        with self._engine.begin() as conn:
            _drop_intents(conn, mapping, direction, source_keys)

    @staticmethod
    def drop_done(conn: Connection, done: Sequence[IntentKey]) -> None:
        """In the unit of work: drop the intents of records created and coupled."""
        groups: dict[tuple[str, Direction], list[str]] = {}
        for intent in done:
            groups.setdefault((intent.mapping, intent.direction), []).append(intent.source_key)
        for (mapping, direction), keys in groups.items():
            _drop_intents(conn, mapping, direction, keys)

    # locks -----------------------------------------------------------------------------------------------------
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None = None, pid: int | None = None
    ) -> bool:
        values = {"name": name, "owner": owner, "until": until, "host": host, "pid": pid}
        takeable = or_(_L.owner == owner, _L.until < now)
        with self._engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                stmt = upsert_insert(dialect, schema.locks).values(values)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_L.name],
                    set_={name: stmt.excluded[name] for name in ("owner", "until", "host", "pid")},
                    where=takeable,
                )
                return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1
            # other databases: update a takeable row, else insert in a savepoint (a taken name fails the insert)
            if conn.execute(update(schema.locks).where(_L.name == name, takeable).values(values)).rowcount == 1:
                return True
            try:
                with conn.begin_nested():
                    conn.execute(insert(schema.locks).values(values))
            except IntegrityError:
                return False
            return True

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        stmt = update(schema.locks).where(_L.name == name, _L.owner == owner).values(until=until)
        with self._engine.begin() as conn:
            return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1

    def release_lock(self, name: str, owner: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(schema.locks).where(_L.name == name, _L.owner == owner))

    def locks(self) -> list[Lock]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_L.name, _L.owner, _L.until, _L.host, _L.pid).order_by(_L.name))
            return [Lock(name=r.name, owner=r.owner, until=r.until, host=r.host, pid=r.pid) for r in rows]


def _of_intents(mapping: str, direction: Direction) -> tuple[ColumnElement[bool], ...]:
    return (_IN.mapping == mapping, _IN.direction == Direction(direction).value)


def _drop_intents(conn: Connection, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
    dropped = set(source_keys)
    if not dropped:
        return
    rows = conn.execute(select(*_INTENT_COLUMNS).where(*_of_intents(mapping, direction))).all()
    for row in rows:
        sources = [item[0] for item in json.loads(row[3])]  # only the source keys: most rows go whole
        if dropped.isdisjoint(sources):
            continue
        if dropped.issuperset(sources):
            conn.execute(delete(schema.intents).where(_IN.id == row[0]))
            continue
        kept = [i for i in intents_from_row(row) if i.source_key not in dropped]
        values = intent_batch_values(mapping, direction, kept)
        conn.execute(update(schema.intents).where(_IN.id == row[0]).values(pairs=values["pairs"]))

"""The SQL statements for the state kept beside couplings: parked conflicts, failures of uncoupled records, pending
deletions and intents to create. Functions on a connection; ``SqlStateStore`` owns the transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, false, insert, select, true, update

from coupler.adapters.store.encoding import (
    CONFLICT_FIELDS,
    DELETION_FIELDS,
    FAILURE_FIELDS,
    INTENT_FIELDS,
    conflict_from_row,
    conflict_values,
    deletion_from_row,
    deletion_values,
    failure_from_row,
    failure_values,
    intent_batch_values,
    intents_from_row,
)
from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import chunks, delete_rows, key_in, upsert_rows
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, CreateIntent, PendingDeletion, RecordFailure, StateChanges

__all__ = [
    "StateWrites",
    "add_intents",
    "conflict",
    "conflicts",
    "drop_intents",
    "intents",
    "list_record_failures",
    "pending_deletions",
    "record_failures",
    "remove_pending_deletions",
]

_CF = schema.conflicts.c
_RF = schema.record_failures.c
_PD = schema.pending_deletions.c
_IN = schema.intents.c
_CONFLICT_COLUMNS = [_CF[name] for name in CONFLICT_FIELDS]
_FAILURE_COLUMNS = [_RF[name] for name in FAILURE_FIELDS]
_DELETION_COLUMNS = [_PD[name] for name in DELETION_FIELDS]
_INTENT_COLUMNS = [_IN[name] for name in INTENT_FIELDS]


@dataclass(frozen=True, kw_only=True, slots=True)
class StateWrites:
    """What ``save`` writes beside couplings, converted to rows before the transaction starts (so that a value that
    cannot be stored, such as a conflict value that is not JSON-ready, fails before anything is written)."""

    conflicts: list[dict[str, Any]]
    settled: list[tuple[str, str]]
    failures: list[dict[str, Any]]
    cleared: list[tuple[str, str, str]]
    deletions: list[dict[str, Any]]

    @classmethod
    def of(cls, changes: StateChanges) -> StateWrites:
        return cls(
            conflicts=[conflict_values(c) for c in changes.conflicts],
            settled=[(k.mapping, k.local_key) for k in changes.settled],
            failures=[failure_values(f) for f in changes.failures],
            cleared=[(k.mapping, Side(k.side).value, k.key) for k in changes.cleared],
            deletions=[deletion_values(d) for d in changes.deletions],
        )

    def write(self, conn: Connection) -> None:
        """Replace, then remove: a key both stored and removed in one save ends up removed."""
        upsert_rows(conn, schema.conflicts, self.conflicts)
        delete_rows(conn, schema.conflicts, self.settled)
        upsert_rows(conn, schema.record_failures, self.failures)
        delete_rows(conn, schema.record_failures, self.cleared)
        upsert_rows(conn, schema.pending_deletions, self.deletions)


# parked conflicts ------------------------------------------------------------------------------------------------
def conflicts(conn: Connection, mapping: str | None, *, after: str | None, limit: int) -> list[Conflict]:
    stmt = select(*_CONFLICT_COLUMNS).order_by(_CF.mapping, _CF.local_key).limit(limit)
    if mapping is not None:
        stmt = stmt.where(_CF.mapping == mapping)
    if after is not None:
        stmt = stmt.where(_CF.local_key > after)
    return [conflict_from_row(row) for row in conn.execute(stmt)]


def conflict(conn: Connection, mapping: str, local_key: str) -> Conflict | None:
    row = conn.execute(select(*_CONFLICT_COLUMNS).where(_CF.mapping == mapping, _CF.local_key == local_key)).first()
    return None if row is None else conflict_from_row(row)


# failures of uncoupled records -----------------------------------------------------------------------------------
def record_failures(conn: Connection, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
    found: dict[str, RecordFailure] = {}
    of = (_RF.mapping == mapping, _RF.side == Side(side).value)
    for chunk in chunks(list(dict.fromkeys(keys))):
        for row in conn.execute(select(*_FAILURE_COLUMNS).where(*of, key_in(conn, _RF.key, chunk))):
            failure = failure_from_row(row)
            found[failure.key] = failure
    return found


def list_record_failures(
    conn: Connection,
    mapping: str | None,
    *,
    side: Side | None,
    skipped: bool | None,
    after: str | None,
    limit: int,
) -> list[RecordFailure]:
    stmt = select(*_FAILURE_COLUMNS).order_by(_RF.mapping, _RF.side, _RF.key).limit(limit)
    if mapping is not None:
        stmt = stmt.where(_RF.mapping == mapping)
    if side is not None:
        stmt = stmt.where(_RF.side == Side(side).value)
    if skipped is not None:
        stmt = stmt.where(_RF.skipped == (true() if skipped else false()))
    if after is not None:
        stmt = stmt.where(_RF.key > after)
    return [failure_from_row(row) for row in conn.execute(stmt)]


# pending deletions -----------------------------------------------------------------------------------------------
def pending_deletions(conn: Connection, mapping: str | None, *, limit: int) -> list[PendingDeletion]:
    order = (_PD.detected_at, _PD.mapping, _PD.side, _PD.deleted_key)
    stmt = select(*_DELETION_COLUMNS).order_by(*order).limit(limit)
    if mapping is not None:
        stmt = stmt.where(_PD.mapping == mapping)
    return [deletion_from_row(row) for row in conn.execute(stmt)]


def remove_pending_deletions(conn: Connection, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
    removed = 0
    of = (_PD.mapping == mapping, _PD.side == Side(side).value)
    for chunk in chunks(list(dict.fromkeys(deleted_keys))):
        stmt = delete(schema.pending_deletions).where(*of, key_in(conn, _PD.deleted_key, chunk))
        removed += conn.execute(stmt).rowcount
    return removed


# intents to create -----------------------------------------------------------------------------------------------
# A batch of intents is one row (the pairs as JSON): cheap to write before a page's records are created and to drop
# once they are coupled. Adding an intent again for a source key replaces the earlier one (the newest row wins).
def add_intents(conn: Connection, intents: Sequence[CreateIntent]) -> None:
    groups: dict[tuple[str, Direction], list[CreateIntent]] = {}
    for i in intents:
        groups.setdefault((i.mapping, Direction(i.direction)), []).append(i)
    for (mapping, direction), batch in groups.items():
        conn.execute(insert(schema.intents).values(intent_batch_values(mapping, direction, batch)))


def intents(conn: Connection, mapping: str, direction: Direction, *, limit: int) -> list[CreateIntent]:
    stmt: Select[Any] = select(*_INTENT_COLUMNS).where(*_of_intents(mapping, direction)).order_by(_IN.id)
    newest: dict[str, CreateIntent] = {}
    for row in conn.execute(stmt):
        for intent in intents_from_row(row):
            newest.pop(intent.source_key, None)
            newest[intent.source_key] = intent
    found = sorted(newest.values(), key=lambda i: (i.at, i.source_key))
    return found[:limit]


def drop_intents(conn: Connection, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
    dropped = set(source_keys)
    if not dropped:
        return
    rows = conn.execute(select(*_INTENT_COLUMNS).where(*_of_intents(mapping, direction))).all()
    for row in rows:
        batch = intents_from_row(row)
        kept = [i for i in batch if i.source_key not in dropped]
        if len(kept) == len(batch):
            continue
        if kept:
            values = intent_batch_values(mapping, direction, kept)
            conn.execute(update(schema.intents).where(_IN.id == row[0]).values(pairs=values["pairs"]))
        else:
            conn.execute(delete(schema.intents).where(_IN.id == row[0]))


def _of_intents(mapping: str, direction: Direction) -> tuple[ColumnElement[bool], ...]:
    return (_IN.mapping == mapping, _IN.direction == Direction(direction).value)

"""What waits for a user, in the ``coupler_conflicts``, ``coupler_record_failures`` and
``coupler_pending_deletions`` tables: reading it, and writing a chunk's share of it in the unit of work's
transaction (``AttentionRows``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, false, select, true

from coupler.adapters.store.encoding import (
    CONFLICT_FIELDS,
    DELETION_FIELDS,
    FAILURE_FIELDS,
    conflict_from_row,
    conflict_values,
    deletion_from_row,
    deletion_values,
    failure_from_row,
    failure_values,
)
from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import chunks, delete_rows, key_in, upsert_rows
from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion, RecordFailure, StateChanges
from coupler.ports.store import Attention

__all__ = ["AttentionRows", "SqlAttention"]

_CF = schema.conflicts.c
_RF = schema.record_failures.c
_PD = schema.pending_deletions.c
_CONFLICT_COLUMNS = [_CF[name] for name in CONFLICT_FIELDS]
_FAILURE_COLUMNS = [_RF[name] for name in FAILURE_FIELDS]
_DELETION_COLUMNS = [_PD[name] for name in DELETION_FIELDS]


class SqlAttention(Attention):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # parked conflicts ----------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        stmt = select(*_CONFLICT_COLUMNS).order_by(_CF.mapping, _CF.local_key).limit(limit)
        if mapping is not None:
            stmt = stmt.where(_CF.mapping == mapping)
        if after is not None:
            stmt = stmt.where(_CF.local_key > after)
        with self._engine.connect() as conn:
            return [conflict_from_row(row) for row in conn.execute(stmt)]

    def conflict(self, mapping: str, local_key: str) -> Conflict | None:
        stmt = select(*_CONFLICT_COLUMNS).where(_CF.mapping == mapping, _CF.local_key == local_key)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else conflict_from_row(row)

    # failures of uncoupled records -----------------------------------------------------------------------------
    def failures_of(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        found: dict[str, RecordFailure] = {}
        of = (_RF.mapping == mapping, _RF.side == Side(side).value)
        with self._engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(keys))):
                for row in conn.execute(select(*_FAILURE_COLUMNS).where(*of, key_in(conn, _RF.key, chunk))):
                    failure = failure_from_row(row)
                    found[failure.key] = failure
        return found

    def failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
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
        with self._engine.connect() as conn:
            return [failure_from_row(row) for row in conn.execute(stmt)]

    # pending deletions -----------------------------------------------------------------------------------------
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        order = (_PD.detected_at, _PD.mapping, _PD.side, _PD.deleted_key)
        stmt = select(*_DELETION_COLUMNS).order_by(*order).limit(limit)
        if mapping is not None:
            stmt = stmt.where(_PD.mapping == mapping)
        with self._engine.connect() as conn:
            return [deletion_from_row(row) for row in conn.execute(stmt)]

    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        removed = 0
        of = (_PD.mapping == mapping, _PD.side == Side(side).value)
        with self._engine.begin() as conn:
            for chunk in chunks(list(dict.fromkeys(deleted_keys))):
                stmt = delete(schema.pending_deletions).where(*of, key_in(conn, _PD.deleted_key, chunk))
                removed += conn.execute(stmt).rowcount
        return removed


@dataclass(frozen=True, kw_only=True, slots=True)
class AttentionRows:
    """A chunk's conflicts, failures and pending deletions as rows, converted before the unit of work's transaction
    starts (so that a value that cannot be stored, such as a conflict value that is not JSON-ready, fails before
    anything is written)."""

    conflicts: list[dict[str, Any]]
    settled: list[tuple[str, str]]
    failures: list[dict[str, Any]]
    cleared: list[tuple[str, str, str]]
    deletions: list[dict[str, Any]]

    @classmethod
    def of(cls, changes: StateChanges) -> AttentionRows:
        return cls(
            conflicts=[conflict_values(c) for c in changes.conflicts],
            settled=[(k.mapping, k.local_key) for k in changes.settled],
            failures=[failure_values(f) for f in changes.failures],
            cleared=[(k.mapping, Side(k.side).value, k.key) for k in changes.cleared],
            deletions=[deletion_values(d) for d in changes.deletions],
        )

    def write(self, conn: Connection) -> None:
        """Replace, then remove: a key both stored and removed in one save ends up removed. One statement per kind."""
        upsert_rows(conn, schema.conflicts, self.conflicts)
        delete_rows(conn, schema.conflicts, self.settled)
        upsert_rows(conn, schema.record_failures, self.failures)
        delete_rows(conn, schema.record_failures, self.cleared)
        upsert_rows(conn, schema.pending_deletions, self.deletions)

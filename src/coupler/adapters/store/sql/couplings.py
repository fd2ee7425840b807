"""The couplings in the ``coupler_couplings`` table: reading, paging, adding and removing them, and writing a
chunk's new and changed couplings in the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, false, literal_column, or_, select
from sqlalchemy.exc import IntegrityError

from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import chunks, insert_couplings, key_in, select_couplings, update_couplings
from coupler.adapters.store.sql.rows import COUPLING_FIELDS, coupling_from_row
from coupler.adapters.store.taken_keys import TakenKey, already_coupled, duplicates_within, shared_integration_keys
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, Side
from coupler.domain.ordering import Bookmark, CouplingOrder
from coupler.domain.state import StateChanges
from coupler.ports.store import Couplings

__all__ = ["SqlCouplings"]

_C = schema.couplings.c
_TABLE = schema.couplings.name
_SKIPPED: ColumnElement[bool] = literal_column("skipped")  # not "skipped = 1", which SQLite's partial index ignores
_COUPLING_COLUMNS = [_C[name] for name in COUPLING_FIELDS]
# literal values (as in the partial indexes' predicates), so that those indexes apply
_LOOK_AGAIN: list[ColumnElement[str]] = [
    literal_column(f"'{SyncResult.FAILURE.value}'"),
    literal_column(f"'{SyncResult.PENDING.value}'"),
]


class SqlCouplings(Couplings):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        local = Side(side) is Side.LOCAL
        with self._engine.connect() as conn:
            found = select_couplings(conn, mapping, local, list(dict.fromkeys(keys)))
        return {c.local_key if local else c.integration_key: c for c in found}

    def coupled(self, mapping: str, side: Side, keys: Sequence[str]) -> set[str]:
        """One key-only query per chunk (the unique index on the mapping and the key answers it alone)."""
        column = _C.local_key if Side(side) is Side.LOCAL else _C.integration_key
        found: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(list(dict.fromkeys(keys))):
                if conn.dialect.name == "sqlite":  # straight to the driver: compiling 1,000 parameters costs more
                    marks = ", ".join("?" * len(chunk))
                    sql = f"SELECT {column.name} FROM {_TABLE} WHERE mapping = ? AND {column.name} IN ({marks})"
                    found.update(row[0] for row in conn.exec_driver_sql(sql, (mapping, *chunk)))
                else:
                    stmt = select(column).where(_C.mapping == mapping, key_in(conn, column, chunk))
                    found.update(conn.execute(stmt).scalars())
        return found

    def failed(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        to_failed = _C.to_integration_result.in_(_LOOK_AGAIN)
        from_failed = _C.from_integration_result.in_(_LOOK_AGAIN)
        direction = Direction(direction)
        if direction is Direction.TO_INTEGRATION:
            failed: ColumnElement[bool] = to_failed
        elif direction is Direction.FROM_INTEGRATION:
            failed = from_failed
        else:
            failed = or_(to_failed, from_failed)
        return self._page(and_(_C.mapping == mapping, failed, _C.skipped == false()), after, limit)

    def page(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        where = _C.mapping == mapping
        if skipped:  # the bare column, as in the partial index's predicate, so that the index applies
            where = and_(where, _SKIPPED)
        elif skipped is not None:
            where = and_(where, _C.skipped == false())
        return self._page(where, after, limit)

    def _page(self, where: ColumnElement[bool], after: str | None, limit: int) -> list[Coupling]:
        if after is not None:
            where = and_(where, _C.local_key > after)
        stmt = select(*_COUPLING_COLUMNS).where(where).order_by(_C.local_key).limit(limit)
        with self._engine.connect() as conn:
            return [coupling_from_row(row) for row in conn.execute(stmt).all()]

    def ordered(
        self,
        mapping: str,
        by: CouplingOrder,
        *,
        descending: bool = False,
        after: Bookmark | None = None,
        limit: int = 100,
    ) -> list[Coupling]:
        """One query on the index of ``by`` (revision 0008; the unique one for the local key)."""
        column: ColumnElement[Any] = {
            CouplingOrder.KEY: _C.local_key,
            CouplingOrder.SYNCED: _C.last_synced_at,
            CouplingOrder.RESULT: literal_column(schema.RESULT_RANK),
        }[CouplingOrder(by)]
        key = _C.local_key
        where: list[ColumnElement[bool]] = [_C.mapping == mapping]
        if after is not None and by is CouplingOrder.KEY:
            where.append(key < after.key if descending else key > after.key)
        elif after is not None:
            where.append(_after(column, key, after.value, after.key, descending=descending))
        if by is CouplingOrder.KEY:
            order = [key.desc() if descending else key.asc()]
        elif descending:
            order = [column.desc().nulls_last(), key.desc()]
        else:
            order = [column.asc().nulls_first(), key.asc()]
        stmt = select(*_COUPLING_COLUMNS).where(*where).order_by(*order).limit(limit)
        with self._engine.connect() as conn:
            return [coupling_from_row(row) for row in conn.execute(stmt).all()]

    def add(self, couplings: Sequence[Coupling]) -> None:
        if not couplings:
            return
        try:
            with self._engine.begin() as conn:
                insert_couplings(conn, couplings)
        except IntegrityError as exc:
            taken = duplicates_within(couplings) + self._taken(couplings, Side.LOCAL)
            taken += self._taken(couplings, Side.INTEGRATION)
            if not taken:
                raise
            raise already_coupled(taken) from exc

    def remove(self, mapping: str, local_keys: Sequence[str]) -> int:
        removed = 0
        with self._engine.begin() as conn:
            conflicts = schema.conflicts.c
            for chunk in chunks(list(dict.fromkeys(local_keys))):
                stmt = delete(schema.couplings).where(_C.mapping == mapping, key_in(conn, _C.local_key, chunk))
                removed += conn.execute(stmt).rowcount
                # a parked conflict belongs to its coupling: it goes with it
                parked = conflicts.mapping == mapping, key_in(conn, conflicts.local_key, chunk)
                conn.execute(delete(schema.conflicts).where(*parked))
        return removed

    # in the unit of work ---------------------------------------------------------------------------------------
    @staticmethod
    def write(conn: Connection, changes: StateChanges) -> None:
        """Insert the new couplings and update the changed ones: one statement each."""
        if changes.new_couplings:
            insert_couplings(conn, changes.new_couplings)
        if changes.couplings:
            update_couplings(conn, changes.couplings)

    def taken(self, changes: StateChanges) -> list[TakenKey]:
        """After a failed write: the keys that ``changes`` would take from other couplings (empty if none)."""
        new, updated = changes.new_couplings, changes.couplings
        taken = duplicates_within(new) + self._taken(new, Side.LOCAL) + self._taken(new, Side.INTEGRATION)
        taken += shared_integration_keys(updated)
        return taken + self._taken(updated, Side.INTEGRATION, by_others=True)

    def _taken(self, couplings: Sequence[Coupling], side: Side, *, by_others: bool = False) -> list[TakenKey]:
        """Keys of ``side`` already coupled in the database (``by_others``: to another local key)."""
        column = _C.local_key if side is Side.LOCAL else _C.integration_key
        by_mapping: dict[str, dict[str, str]] = {}
        for c in couplings:
            by_mapping.setdefault(c.mapping, {})[c.key(side)] = c.local_key
        taken: list[TakenKey] = []
        with self._engine.connect() as conn:
            for mapping, owners in by_mapping.items():
                for chunk in chunks(list(owners)):
                    stmt = select(column, _C.local_key).where(_C.mapping == mapping, key_in(conn, column, chunk))
                    for key, local_key in conn.execute(stmt):
                        if not by_others or owners[key] != local_key:
                            taken.append((mapping, side, key))
        return taken


def _after(
    column: ColumnElement[Any], key: ColumnElement[Any], value: Any, last: str, *, descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after (value, last) in ``ordered``'s order (empty values first when ascending); the column's
    range comes first so that its index applies."""
    if descending:
        if value is None:
            return and_(column.is_(None), key < last)
        return or_(and_(column <= value, or_(column < value, key < last)), column.is_(None))
    if value is None:
        return or_(column.is_not(None), and_(column.is_(None), key > last))
    return and_(column >= value, or_(column > value, key > last))

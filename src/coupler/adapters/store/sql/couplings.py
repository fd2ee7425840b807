"""The couplings of the SQL state store: reading, paging, adding and removing them, and the counts per mapping."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, and_, delete, false, func, literal_column, or_, select, true
from sqlalchemy.exc import IntegrityError

from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import chunks, insert_couplings, key_in, select_couplings
from coupler.adapters.store.sql.rows import COUPLING_FIELDS, coupling_from_row
from coupler.adapters.store.taken_keys import TakenKey, already_coupled, duplicates_within
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction, Side
from coupler.ports.store import CouplingStats, StateStore

__all__ = ["SqlCouplings"]

_C = schema.couplings.c
_COUPLING_COLUMNS = [_C[name] for name in COUPLING_FIELDS]
_FAILURE = SyncResult.FAILURE.value
# literal values (as in the partial indexes' predicates), so that those indexes apply
_LOOK_AGAIN: list[ColumnElement[str]] = [
    literal_column(f"'{SyncResult.FAILURE.value}'"),
    literal_column(f"'{SyncResult.PENDING.value}'"),
]


class SqlCouplings(StateStore):
    """The coupling half of the SQL state store, in the ``coupler_couplings`` table; ``SqlStateStore`` adds the rest."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    # couplings ---------------------------------------------------------------------------------------------
    def couplings(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        local = Side(side) is Side.LOCAL
        with self._engine.connect() as conn:
            found = select_couplings(conn, mapping, local, list(dict.fromkeys(keys)))
        return {c.local_key if local else c.integration_key: c for c in found}

    def failed_couplings(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        # literal values, so that the partial indexes on failed couplings apply
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

    def list_couplings(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        where = _C.mapping == mapping
        if skipped is not None:
            where = and_(where, _C.skipped == (true() if skipped else false()))
        return self._page(where, after, limit)

    def _page(self, where: ColumnElement[bool], after: str | None, limit: int) -> list[Coupling]:
        if after is not None:
            where = and_(where, _C.local_key > after)
        stmt = select(*_COUPLING_COLUMNS).where(where).order_by(_C.local_key).limit(limit)
        with self._engine.connect() as conn:
            return [coupling_from_row(row) for row in conn.execute(stmt).all()]

    def add_couplings(self, couplings: Sequence[Coupling]) -> None:
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

    def remove_couplings(self, mapping: str, local_keys: Sequence[str]) -> int:
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

    def stats(self, mapping: str) -> CouplingStats:
        """Failed counts couplings whose last result in either direction is a failure, skipped ones included."""
        of_mapping = _C.mapping == mapping
        count = func.count()
        failed = or_(_C.to_integration_result == _FAILURE, _C.from_integration_result == _FAILURE)
        errors, failures = schema.job_errors, schema.record_failures
        stmt = select(
            select(count).select_from(schema.couplings).where(of_mapping).scalar_subquery(),
            select(count).select_from(schema.couplings).where(of_mapping, failed).scalar_subquery(),
            select(count).select_from(schema.couplings).where(of_mapping, _C.skipped == true()).scalar_subquery(),
            select(count).select_from(errors).where(errors.c.mapping == mapping).scalar_subquery(),
            select(count).select_from(schema.conflicts).where(schema.conflicts.c.mapping == mapping).scalar_subquery(),
            select(count)
            .select_from(schema.pending_deletions)
            .where(schema.pending_deletions.c.mapping == mapping)
            .scalar_subquery(),
            select(count)
            .select_from(failures)
            .where(failures.c.mapping == mapping, failures.c.skipped == true())
            .scalar_subquery(),
        )
        with self._engine.connect() as conn:
            row = conn.execute(stmt).one()
        return CouplingStats(
            couplings=row[0],
            failed=row[1],
            skipped=row[2] + row[6],
            errors=row[3],
            conflicts=row[4],
            pending_deletions=row[5],
        )

"""The state store on a SQL database through SQLAlchemy Core: SQLite for a local file, PostgreSQL for a server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    delete,
    event,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store import locks, schema, sql_state
from coupler.adapters.store.bulk import CHUNK, chunks, insert_couplings, key_in, select_couplings, update_couplings
from coupler.adapters.store.migrate import upgrade
from coupler.adapters.store.rows import (
    COUPLING_FIELDS,
    ERROR_FIELDS,
    JOB_FIELDS,
    coupling_from_row,
    error_from_row,
    error_values,
    job_from_row,
    job_values,
)
from coupler.adapters.store.taken_keys import TakenKey, already_coupled, duplicates_within, shared_integration_keys
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import ConnectorError, RetryableConnectorError
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, CreateIntent, PendingDeletion, RecordFailure
from coupler.ports.store import CouplingStats, StateStore

__all__ = ["CHUNK", "SqlStateStore", "open_state_store"]

_C = schema.couplings.c
_COUPLING_COLUMNS = [_C[name] for name in COUPLING_FIELDS]
_JOB_COLUMNS = [schema.jobs.c[name] for name in JOB_FIELDS]
_ERROR_COLUMNS = [schema.job_errors.c[name] for name in ERROR_FIELDS]
_FAILURE = SyncResult.FAILURE.value
# literal values (as in the partial indexes' predicates), so that those indexes apply
_LOOK_AGAIN: list[ColumnElement[str]] = [
    literal_column(f"'{SyncResult.FAILURE.value}'"),
    literal_column(f"'{SyncResult.PENDING.value}'"),
]


def open_state_store(url: str, **engine_options: Any) -> SqlStateStore:
    """Create the engine for ``url``, migrate the database to the latest schema and return the store."""
    engine = create_sql_engine(url, **engine_options)
    try:
        upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise ConnectorError(f"The state store {where} cannot be opened: {reason}") from None
    except BaseException:
        engine.dispose()
        raise
    event.listen(engine, "handle_error", _unavailable)
    return SqlStateStore(engine)


def _unavailable(context: ExceptionContext) -> None:
    """A state store that stops answering mid-run (connection lost, database locked too long) is a passing
    failure of a system, named as such; integrity errors stay as they are for the store's own handling."""
    error = context.original_exception
    if isinstance(context.sqlalchemy_exception, IntegrityError):
        return
    if context.is_disconnect or isinstance(context.sqlalchemy_exception, OperationalError | InterfaceError):
        where = context.engine.url.render_as_string(hide_password=True) if context.engine else "state store"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RetryableConnectorError(f"The state store {where} does not answer: {reason}") from None


class SqlStateStore(StateStore):
    """Couplings, watermarks, jobs, job errors, parked conflicts, failures of uncoupled records, pending
    deletions, intents and locks in the ``coupler_*`` tables (see ``schema``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> SqlStateStore:
        return open_state_store(url, **engine_options)

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

    def save(
        self,
        *,
        couplings: Sequence[Coupling] = (),
        errors: Sequence[JobError] = (),
        job: Job | None = None,
        conflicts: Sequence[Conflict] = (),
        settled: Sequence[tuple[str, str]] = (),
        failures: Sequence[RecordFailure] = (),
        cleared: Sequence[tuple[str, Side, str]] = (),
        deletions: Sequence[PendingDeletion] = (),
        new_couplings: Sequence[Coupling] = (),
        done_intents: Sequence[tuple[str, Direction, str]] = (),
    ) -> None:
        inserts = [error_values(e) for e in errors]
        state = sql_state.StateWrites.of(
            conflicts=conflicts, settled=settled, failures=failures, cleared=cleared, deletions=deletions
        )
        try:
            with self._engine.begin() as conn:
                if job is not None:
                    _upsert(conn, schema.jobs, job_values(job), ("id",))
                if new_couplings:
                    insert_couplings(conn, new_couplings)
                if couplings:
                    update_couplings(conn, couplings)
                state.write(conn)
                _drop_intents(conn, done_intents)
                if inserts:
                    conn.execute(insert(schema.job_errors), inserts)
        except IntegrityError as exc:
            taken = duplicates_within(new_couplings) + self._taken(new_couplings, Side.LOCAL)
            taken += self._taken(new_couplings, Side.INTEGRATION)
            taken += shared_integration_keys(couplings)
            taken += self._taken(couplings, Side.INTEGRATION, by_others=True)
            if taken:
                raise already_coupled(taken) from exc
            unknown = self._unknown_jobs({e.job_id for e in errors} - {job.id if job else ""})
            if unknown:
                raise ValueError(f"job errors refer to unknown jobs: {', '.join(sorted(unknown))}") from exc
            raise

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

    def _unknown_jobs(self, job_ids: set[str]) -> set[str]:
        known: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(job_ids)):
                known.update(conn.scalars(select(schema.jobs.c.id).where(schema.jobs.c.id.in_(chunk))))
        return job_ids - known

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

    # parked conflicts --------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        with self._engine.connect() as conn:
            return sql_state.conflicts(conn, mapping, after=after, limit=limit)

    def conflict(self, mapping: str, local_key: str) -> Conflict | None:
        with self._engine.connect() as conn:
            return sql_state.conflict(conn, mapping, local_key)

    # failures of uncoupled records -------------------------------------------------------------------------
    def record_failures(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        with self._engine.connect() as conn:
            return sql_state.record_failures(conn, mapping, side, keys)

    def list_record_failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[RecordFailure]:
        with self._engine.connect() as conn:
            return sql_state.list_record_failures(conn, mapping, side=side, skipped=skipped, after=after, limit=limit)

    # pending deletions -------------------------------------------------------------------------------------
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        with self._engine.connect() as conn:
            return sql_state.pending_deletions(conn, mapping, limit=limit)

    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        with self._engine.begin() as conn:
            return sql_state.remove_pending_deletions(conn, mapping, side, deleted_keys)

    # intents to create -------------------------------------------------------------------------------------
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        with self._engine.begin() as conn:
            sql_state.add_intents(conn, intents)

    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]:
        with self._engine.connect() as conn:
            return sql_state.intents(conn, mapping, direction, limit=limit)

    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
        with self._engine.begin() as conn:
            sql_state.drop_intents(conn, mapping, direction, source_keys)

    # locks -------------------------------------------------------------------------------------------------
    def acquire_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        with self._engine.begin() as conn:
            return locks.acquire_lock(conn, name, owner, until=until, now=now)

    def release_lock(self, name: str, owner: str) -> None:
        with self._engine.begin() as conn:
            locks.release_lock(conn, name, owner)

    # watermarks --------------------------------------------------------------------------------------------
    def watermark(self, mapping: str, side: Side) -> datetime | None:
        w = schema.watermarks.c
        stmt = select(w.value).where(w.mapping == mapping, w.side == Side(side).value)
        with self._engine.connect() as conn:
            value: datetime | None = conn.scalar(stmt)
        return value

    def set_watermark(self, mapping: str, side: Side, value: datetime | None) -> None:
        with self._engine.begin() as conn:
            row = {"mapping": mapping, "side": Side(side).value, "value": value}
            _upsert(conn, schema.watermarks, row, ("mapping", "side"))

    # deleted-entries feeds -----------------------------------------------------------------------------------
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        w = schema.watermarks.c
        stmt = select(w.deletions_cursor).where(w.mapping == mapping, w.side == Side(side).value)
        with self._engine.connect() as conn:
            cursor: str | None = conn.scalar(stmt)
        return cursor

    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        with self._engine.begin() as conn:
            row = {"mapping": mapping, "side": Side(side).value, "deletions_cursor": cursor}
            _upsert(conn, schema.watermarks, row, ("mapping", "side"))  # leaves the watermark as it is

    # jobs and errors ---------------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(schema.jobs), job_values(job))
        except IntegrityError as exc:
            raise ValueError(f"a job with id {job.id!r} exists") from exc

    def job(self, job_id: str) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*_JOB_COLUMNS).where(schema.jobs.c.id == job_id)).first()
        return None if row is None else job_from_row(row)

    def jobs(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        j = schema.jobs.c
        stmt = select(*_JOB_COLUMNS).order_by(j.started_at.desc(), j.id.desc()).limit(limit)
        if mapping is not None:
            stmt = stmt.where(j.mapping == mapping)
        with self._engine.connect() as conn:
            return [job_from_row(row) for row in conn.execute(stmt)]

    def errors(
        self,
        *,
        job_id: str | None = None,
        mapping: str | None = None,
        key: str | None = None,
        limit: int = 100,
    ) -> list[JobError]:
        e = schema.job_errors.c
        stmt = select(*_ERROR_COLUMNS).order_by(e.at.desc(), e.id.desc()).limit(limit)
        if job_id is not None:
            stmt = stmt.where(e.job_id == job_id)
        if mapping is not None:
            stmt = stmt.where(e.mapping == mapping)
        if key is not None:
            stmt = stmt.where(or_(e.local_key == key, e.integration_key == key))
        with self._engine.connect() as conn:
            return [error_from_row(row) for row in conn.execute(stmt)]

    def delete_errors(self, *, before: datetime, mapping: str | None = None) -> int:
        e = schema.job_errors.c
        stmt = delete(schema.job_errors).where(e.at < before)
        if mapping is not None:
            stmt = stmt.where(e.mapping == mapping)
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount

    def close(self) -> None:
        self._engine.dispose()


def _upsert(conn: Connection, table: Table, values: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Insert the row or update it by its primary key: native upserts on SQLite and PostgreSQL."""
    changes = [name for name in values if name not in keys]
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c[name] for name in keys],
                set_={name: stmt.excluded[name] for name in changes},
            ),
            values,
        )
        return
    match = and_(*(table.c[name] == values[name] for name in keys))
    if conn.execute(update(table).where(match).values({n: values[n] for n in changes})).rowcount == 0:
        conn.execute(insert(table).values(values))


def _drop_intents(conn: Connection, done: Sequence[tuple[str, Direction, str]]) -> None:
    groups: dict[tuple[str, Direction], list[str]] = {}
    for mapping, direction, source_key in done:
        groups.setdefault((mapping, direction), []).append(source_key)
    for (mapping, direction), keys in groups.items():
        sql_state.drop_intents(conn, mapping, direction, keys)

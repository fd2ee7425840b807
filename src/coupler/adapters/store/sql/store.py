"""The state store on a SQL database through SQLAlchemy Core: SQLite for a local file, PostgreSQL for a server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, event, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store.sql import locks, schema
from coupler.adapters.store.sql import state as sql_state
from coupler.adapters.store.sql.bulk import chunks, insert_couplings, update_couplings
from coupler.adapters.store.sql.couplings import SqlCouplings
from coupler.adapters.store.sql.migrate import upgrade
from coupler.adapters.store.sql.rows import (
    ERROR_FIELDS,
    JOB_FIELDS,
    error_from_row,
    error_values,
    job_from_row,
    job_values,
)
from coupler.adapters.store.taken_keys import already_coupled, duplicates_within, shared_integration_keys
from coupler.domain.errors import ConnectorError, RetryableConnectorError
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import (
    NO_CHANGES,
    Conflict,
    CreateIntent,
    IntentKey,
    Lock,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)

__all__ = ["SqlStateStore", "open_state_store"]

_JOB_COLUMNS = [schema.jobs.c[name] for name in JOB_FIELDS]
_ERROR_COLUMNS = [schema.job_errors.c[name] for name in ERROR_FIELDS]


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


class SqlStateStore(SqlCouplings):
    """Couplings, watermarks, jobs, job errors, parked conflicts, failures of uncoupled records, pending
    deletions, intents and locks in the ``coupler_*`` tables (see ``schema``); the
    couplings' own reads and writes are ``SqlCouplings``'."""

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> SqlStateStore:
        return open_state_store(url, **engine_options)

    # the unit of work ----------------------------------------------------------------------------------------
    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        inserts = [error_values(e) for e in errors]
        state = sql_state.StateWrites.of(changes)
        try:
            with self._engine.begin() as conn:
                if job is not None:
                    _upsert(conn, schema.jobs, job_values(job), ("id",))
                if changes.new_couplings:
                    insert_couplings(conn, changes.new_couplings)
                if changes.couplings:
                    update_couplings(conn, changes.couplings)
                state.write(conn)
                _drop_intents(conn, changes.done_intents)
                if inserts:
                    conn.execute(insert(schema.job_errors), inserts)
        except IntegrityError as exc:
            new, updated = changes.new_couplings, changes.couplings
            taken = duplicates_within(new) + self._taken(new, Side.LOCAL) + self._taken(new, Side.INTEGRATION)
            taken += shared_integration_keys(updated)
            taken += self._taken(updated, Side.INTEGRATION, by_others=True)
            if taken:
                raise already_coupled(taken) from exc
            unknown = self._unknown_jobs({e.job_id for e in errors} - {job.id if job else ""})
            if unknown:
                raise ValueError(f"job errors refer to unknown jobs: {', '.join(sorted(unknown))}") from exc
            raise

    def _unknown_jobs(self, job_ids: set[str]) -> set[str]:
        known: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(job_ids)):
                known.update(conn.scalars(select(schema.jobs.c.id).where(schema.jobs.c.id.in_(chunk))))
        return job_ids - known

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
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None = None, pid: int | None = None
    ) -> bool:
        with self._engine.begin() as conn:
            return locks.acquire_lock(conn, name, owner, until=until, now=now, host=host, pid=pid)

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        with self._engine.begin() as conn:
            return locks.renew_lock(conn, name, owner, until=until)

    def release_lock(self, name: str, owner: str) -> None:
        with self._engine.begin() as conn:
            locks.release_lock(conn, name, owner)

    def locks(self) -> list[Lock]:
        with self._engine.connect() as conn:
            return locks.list_locks(conn)

    # watermarks --------------------------------------------------------------------------------------------
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        w = schema.watermarks.c
        stmt = select(w.value, w.last_key).where(w.mapping == mapping, w.side == Side(side).value)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None or row.value is None:
            return None
        return ChangeCursor(stamp=row.value, key=row.last_key)

    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        with self._engine.begin() as conn:
            row = {
                "mapping": mapping,
                "side": Side(side).value,
                "value": None if cursor is None else cursor.stamp,
                "last_key": None if cursor is None else cursor.key,
            }
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


def _drop_intents(conn: Connection, done: Sequence[IntentKey]) -> None:
    groups: dict[tuple[str, Direction], list[str]] = {}
    for intent in done:
        groups.setdefault((intent.mapping, intent.direction), []).append(intent.source_key)
    for (mapping, direction), keys in groups.items():
        sql_state.drop_intents(conn, mapping, direction, keys)

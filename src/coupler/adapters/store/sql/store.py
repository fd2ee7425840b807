"""The state store on a SQL database through SQLAlchemy Core: SQLite for a local file, PostgreSQL for a server.
One object per aggregate, sharing the engine; the unit of work writes a chunk's changes across them in one
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.attention import AttentionRows, SqlAttention
from coupler.adapters.store.sql.couplings import SqlCouplings
from coupler.adapters.store.sql.cursors import SqlCursors
from coupler.adapters.store.sql.jobs import SqlJobs
from coupler.adapters.store.sql.metadata import SqlMetadata
from coupler.adapters.store.sql.migrate import upgrade
from coupler.adapters.store.sql.rows import error_values
from coupler.adapters.store.taken_keys import already_coupled
from coupler.domain.errors import ConnectorError, RetryableConnectorError
from coupler.domain.jobs import Job, JobError
from coupler.domain.state import NO_CHANGES, StateChanges
from coupler.ports.store import CouplingStats, StateStore

__all__ = ["SqlStateStore", "open_state_store"]


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
    """coupler's state in the ``coupler_*`` tables (see ``schema``)."""

    couplings: SqlCouplings
    attention: SqlAttention
    jobs: SqlJobs
    cursors: SqlCursors
    metadata: SqlMetadata

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.couplings = SqlCouplings(engine)
        self.attention = SqlAttention(engine)
        self.jobs = SqlJobs(engine)
        self.cursors = SqlCursors(engine)
        self.metadata = SqlMetadata(engine)

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> SqlStateStore:
        return open_state_store(url, **engine_options)

    @property
    def engine(self) -> Engine:
        return self._engine

    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        """One statement per kind of change, in one transaction; every value is converted to rows first."""
        attention, error_rows = AttentionRows.of(changes), [error_values(e) for e in errors]
        try:
            with self._engine.begin() as conn:
                self.jobs.write_job(conn, job)
                self.couplings.write(conn, changes)
                attention.write(conn)
                self.cursors.drop_done(conn, changes.done_intents)
                self.jobs.add_errors(conn, error_rows)
        except IntegrityError as exc:
            taken = self.couplings.taken(changes)
            if taken:
                raise already_coupled(taken) from exc
            unknown = self.jobs.unknown({e.job_id for e in errors} - {job.id if job else ""})
            if unknown:
                raise ValueError(f"job errors refer to unknown jobs: {', '.join(sorted(unknown))}") from exc
            raise

    def stats(self, mapping: str) -> CouplingStats:
        """One row of ``coupler_counts``, which triggers keep in the transaction of every write (migration 0007):
        no count over the couplings. Failed counts couplings whose last result in either direction is a failure,
        skipped ones included."""
        stmt = select(*(schema.counts.c[name] for name in schema.COUNTED)).where(schema.counts.c.mapping == mapping)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).one_or_none()
        return CouplingStats() if row is None else CouplingStats(**row._asdict())

    def close(self) -> None:
        self._engine.dispose()

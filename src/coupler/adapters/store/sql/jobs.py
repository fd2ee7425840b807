"""The job log in the ``coupler_jobs`` and ``coupler_job_errors`` tables: jobs and their per-record errors, and
writing a running job's progress and new errors in the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.bulk import chunks, upsert_row
from coupler.adapters.store.sql.rows import ERROR_FIELDS, JOB_FIELDS, error_from_row, job_from_row, job_values
from coupler.domain.jobs import Job, JobError
from coupler.ports.store import Jobs

__all__ = ["SqlJobs"]

_J = schema.jobs.c
_E = schema.job_errors.c
_JOB_COLUMNS = [_J[name] for name in JOB_FIELDS]
_ERROR_COLUMNS = [_E[name] for name in ERROR_FIELDS]


class SqlJobs(Jobs):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, job: Job) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(schema.jobs), job_values(job))
        except IntegrityError as exc:
            raise ValueError(f"a job with id {job.id!r} exists") from exc

    def get(self, job_id: str) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*_JOB_COLUMNS).where(_J.id == job_id)).first()
        return None if row is None else job_from_row(row)

    def recent(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        stmt = select(*_JOB_COLUMNS).order_by(_J.started_at.desc(), _J.id.desc()).limit(limit)
        if mapping is not None:
            stmt = stmt.where(_J.mapping == mapping)
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
        stmt = select(*_ERROR_COLUMNS).order_by(_E.at.desc(), _E.id.desc()).limit(limit)
        if job_id is not None:
            stmt = stmt.where(_E.job_id == job_id)
        if mapping is not None:
            stmt = stmt.where(_E.mapping == mapping)
        if key is not None:
            stmt = stmt.where(or_(_E.local_key == key, _E.integration_key == key))
        with self._engine.connect() as conn:
            return [error_from_row(row) for row in conn.execute(stmt)]

    def delete_errors(self, *, before: datetime, mapping: str | None = None) -> int:
        stmt = delete(schema.job_errors).where(_E.at < before)
        if mapping is not None:
            stmt = stmt.where(_E.mapping == mapping)
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount

    # in the unit of work ---------------------------------------------------------------------------------------
    @staticmethod
    def write_job(conn: Connection, job: Job | None) -> None:
        """Store the job's progress, adding it if it was not (before its errors, which refer to it)."""
        if job is not None:
            upsert_row(conn, schema.jobs, job_values(job), ("id",))

    @staticmethod
    def add_errors(conn: Connection, errors: Sequence[dict[str, Any]]) -> None:
        """Insert job errors, as ``rows.error_values`` gives them: one statement."""
        if errors:
            conn.execute(insert(schema.job_errors), list(errors))

    def unknown(self, job_ids: set[str]) -> set[str]:
        """Of these job ids, those of no recorded job."""
        known: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(job_ids)):
                known.update(conn.scalars(select(_J.id).where(_J.id.in_(chunk))))
        return job_ids - known

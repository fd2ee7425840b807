"""What a job in the queue has done so far, as the web app shows it: a row per job that the worker updates.

procrastinate keeps a job's status (todo, doing, succeeded, failed) but neither its progress nor its result; the
worker keeps them in ``coupler_queue_progress`` beside procrastinate's tables: the stage and the records done so far
(from the services' progress calls, written at most every ``EVERY`` seconds), then the ids of the jobs it recorded in
the state store's job log (whose counters are the result) or the message it failed with.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import procrastinate

from coupler.services.context import Progress

__all__ = ["SCHEMA", "JobProgress", "RowProgress", "finish", "progress_of", "recent_tasks"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS coupler_queue_progress (
    job_id bigint PRIMARY KEY,
    stage text,
    done integer NOT NULL DEFAULT 0,
    total integer,
    jobs jsonb NOT NULL DEFAULT '[]'::jsonb,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    written jsonb
);
ALTER TABLE coupler_queue_progress ADD COLUMN IF NOT EXISTS written jsonb;
"""
EVERY = 0.5
"""Seconds between two writes of a running job's progress (its stage changes are written at once)."""

_UPSERT = (
    "INSERT INTO coupler_queue_progress (job_id, stage, done, total) VALUES (%(job)s, %(stage)s, %(done)s, %(total)s) "
    "ON CONFLICT (job_id) DO UPDATE SET stage = EXCLUDED.stage, done = EXCLUDED.done, total = EXCLUDED.total"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class JobProgress:
    """One job of the queue and what its worker reported: ``status`` is procrastinate's."""

    id: int
    status: str
    mapping: str | None
    stage: str | None
    done: int
    total: int | None
    jobs: tuple[str, ...]
    """The state store's job ids the job recorded (its result)."""
    error: str | None
    finished_at: datetime | None
    task: dict[str, Any]
    """What the web app deferred it for: ``id``, ``label``, ``at``."""
    written: dict[str, Any] = field(default_factory=dict)
    """What the jobs it recorded wrote, by job id (``written.kept``: the notice's old and new values)."""


class RowProgress(Progress):
    """Feeds the job's progress row from the services' progress calls."""

    def __init__(self, app: procrastinate.App, job_id: int) -> None:
        self._app, self._job = app, job_id
        self._stage: str | None = None
        self._done = 0
        self._total: int | None = None
        self._written = 0.0

    def start(self, label: str, total: int | None = None, *, unit: str = "records") -> None:
        self._stage, self._total, self._done = label, total, 0
        self._write()

    def advance(self, count: int) -> None:
        self._done += count
        if time.monotonic() - self._written >= EVERY:
            self._write()

    def _write(self) -> None:
        self._written = time.monotonic()
        self._app.connector.get_sync_connector().execute_query(
            _UPSERT,
            job=self._job,
            stage=self._stage,
            done=self._done,
            total=self._total,
        )


def finish(
    app: procrastinate.App,
    job_id: int,
    *,
    jobs: Sequence[str] = (),
    error: str | None = None,
    written: dict[str, Any] | None = None,
) -> None:
    """The job ended: the state store's jobs it recorded (and what they wrote, ``written.kept``), or the message it
    failed with."""
    app.connector.get_sync_connector().execute_query(
        "INSERT INTO coupler_queue_progress (job_id, jobs, error, finished_at, written) "
        "VALUES (%(job)s, %(jobs)s::jsonb, %(error)s, now(), %(written)s::jsonb) ON CONFLICT (job_id) DO UPDATE SET "
        "jobs = EXCLUDED.jobs, error = EXCLUDED.error, finished_at = EXCLUDED.finished_at, written = EXCLUDED.written",
        job=job_id,
        jobs=json.dumps(list(jobs)),
        error=error,
        written=json.dumps(written or {}),
    )


def progress_of(app: procrastinate.App, *, connection: str, task: str) -> list[JobProgress]:
    """The jobs deferred for the web app's task ``task`` (chained jobs included), oldest first."""
    rows = app.connector.get_sync_connector().execute_query_all(
        "SELECT j.id, j.status::text AS status, j.args, p.stage, p.done, p.total, p.jobs, p.error, p.finished_at, "
        "p.written "
        "FROM procrastinate_jobs j LEFT JOIN coupler_queue_progress p ON p.job_id = j.id "
        "WHERE j.args->>'connection' = %(connection)s AND j.args->'task'->>'id' = %(task)s ORDER BY j.id",
        connection=connection,
        task=task,
    )
    return [_of(row) for row in rows]


def recent_tasks(app: procrastinate.App, *, connection: str, limit: int) -> list[str]:
    """The latest tasks the web app deferred jobs for, newest first."""
    rows = app.connector.get_sync_connector().execute_query_all(
        "SELECT args->'task'->>'id' AS task FROM procrastinate_jobs WHERE args->>'connection' = %(connection)s "
        "AND args ? 'task' GROUP BY 1 ORDER BY min(id) DESC LIMIT %(limit)s",
        connection=connection,
        limit=limit,
    )
    return [row["task"] for row in rows]


def _of(row: dict[str, Any]) -> JobProgress:
    args = row["args"]
    return JobProgress(
        id=row["id"],
        status=row["status"],
        mapping=args.get("mapping"),
        stage=row["stage"],
        done=row["done"] or 0,
        total=row["total"],
        jobs=tuple(row["jobs"] or ()),
        error=row["error"],
        finished_at=row["finished_at"],
        task=args.get("task") or {},
        written=row.get("written") or {},
    )

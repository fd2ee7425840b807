"""Deferring coupler's jobs to the queue, and reading what is in it.

Every job names its connection and mapping and holds the procrastinate ``lock`` of that pair: a worker takes a job
only when no job of the same mapping and connection is running and none was asked for before it, so a mapping's jobs
run one at a time, in the order they were asked for, whatever the number of workers. A round of incremental jobs
is a chain: each mapping's job, when it ends, defers the next mapping's, so mappings run in dependency order. The
scheduler's jobs carry a ``queueing_lock`` as well: a mapping waits in the queue once at most.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

__all__ = ["JobQueue", "QueuedJob", "Work", "mapping_lock", "scheduled_lock"]

PREFIX = "coupler"


class Work(StrEnum):
    """The kinds of work, each a procrastinate task of that name."""

    INCREMENTAL = "coupler.incremental"
    FULL = "coupler.full"
    SYNC_NOW = "coupler.sync_now"
    MATCH = "coupler.match"
    COUPLE = "coupler.couple"
    CREATE = "coupler.create"
    DECOUPLE = "coupler.decouple"
    RETRY = "coupler.retry"
    RESTORE = "coupler.restore"
    APPROVE = "coupler.approve"
    SCHEDULER = "coupler.scheduler"
    TAKE_OVER = "coupler.take_over"
    CLEANUP = "coupler.cleanup"
    NOTIFIED = "coupler.notified"
    """A targeted synchronization of the records a system's webhook notification named."""
    HOOKS = "coupler.hooks"
    """Renewing the webhook subscriptions (periodic)."""


def mapping_lock(connection: str, mapping: str) -> str:
    """The lock every job of one mapping of one connection holds."""
    return f"{PREFIX}:{connection}:{mapping.upper()}"


def scheduled_lock(connection: str, mapping: str) -> str:
    """The queueing lock of the scheduler's incremental jobs: one waits in the queue per mapping at most."""
    return f"{mapping_lock(connection, mapping)}:scheduled"


@dataclass(frozen=True, kw_only=True, slots=True)
class QueuedJob:
    """A job in the queue as procrastinate keeps it."""

    id: int
    work: str
    connection: str | None
    mapping: str | None
    status: str
    """todo, doing, succeeded, failed, cancelled, aborted."""
    attempts: int
    scheduled_at: datetime | None
    worker: int | None


class JobQueue:
    """Defers the jobs of one connection (``connection`` names it in the queue) on an opened procrastinate app."""

    def __init__(self, app: procrastinate.App, *, connection: str) -> None:
        self.app, self.connection = app, connection

    def defer(self, work: Work, mapping: str, **arguments: Any) -> int:
        """Ask for one job on ``mapping``; its id in the queue."""
        deferrer = self.app.configure_task(name=work.value, lock=mapping_lock(self.connection, mapping))
        return deferrer.defer(connection=self.connection, mapping=mapping.upper(), **arguments)

    def round(
        self,
        mappings: Sequence[str],
        *,
        scheduled: bool = False,
        task: Mapping[str, Any] | None = None,
        round_id: str | None = None,
    ) -> int | None:
        """A round of incremental jobs over ``mappings`` (in dependency order): the first is deferred now and each
        defers the next when it ends. With ``scheduled``, a mapping already waiting in the queue is passed over.
        ``task``: the web app's task every job of the round belongs to. ``round_id``: the round's, when a job of it
        defers the next (a job run again after its worker died defers nothing its first attempt deferred). The first
        job's id, or None when every mapping was already waiting."""
        rest = [m.upper() for m in mappings]
        while rest:
            mapping, rest = rest[0], rest[1:]
            job = self.incremental(mapping, then=rest, scheduled=scheduled, task=task, round_id=round_id)
            if job is not None:
                return job
        return None

    def incremental(
        self,
        mapping: str,
        *,
        then: Sequence[str] = (),
        scheduled: bool = False,
        task: Mapping[str, Any] | None = None,
        round_id: str | None = None,
    ) -> int | None:
        """One incremental job; ``then``: the mappings whose jobs it defers, in order, when it ends. None when
        ``scheduled`` and the mapping is already waiting in the queue.

        A round's jobs carry its id (``round_id``, a new one for a new round): a job killed after it deferred the
        next one is run again from the start, and would defer it again, doubling the rest of the round; with the id,
        the job already in the queue for that round and mapping is found and its id returned instead."""
        if round_id is not None and (found := self._in_round(round_id, mapping)) is not None:
            return found
        options: dict[str, Any] = {"lock": mapping_lock(self.connection, mapping)}
        if scheduled:
            options["queueing_lock"] = scheduled_lock(self.connection, mapping)
        deferrer = self.app.configure_task(name=Work.INCREMENTAL.value, **options)
        extra: dict[str, Any] = {"task": dict(task)} if task else {}
        if then or round_id is not None:
            extra["round_id"] = round_id or uuid.uuid4().hex
        try:
            return deferrer.defer(
                connection=self.connection, mapping=mapping.upper(), then=list(then), scheduled=scheduled, **extra
            )
        except AlreadyEnqueued:
            return None

    def _in_round(self, round_id: str, mapping: str) -> int | None:
        """The job of the round already in the queue for ``mapping``, if one was deferred."""
        row = self.app.connector.get_sync_connector().execute_query_one(
            "SELECT max(id) AS id FROM procrastinate_jobs WHERE task_name = %(task)s "
            "AND args->>'connection' = %(connection)s AND args->>'round_id' = %(round)s "
            "AND args->>'mapping' = %(mapping)s",
            task=Work.INCREMENTAL.value,
            connection=self.connection,
            round=round_id,
            mapping=mapping.upper(),
        )
        return int(row["id"]) if row and row["id"] is not None else None

    def jobs(self, *, limit: int = 50) -> list[QueuedJob]:
        """This connection's jobs in the queue, most recent first."""
        rows = self.app.connector.get_sync_connector().execute_query_all(
            "SELECT id, task_name, args, status::text AS status, attempts, scheduled_at, worker_id "
            "FROM procrastinate_jobs WHERE args->>'connection' = %(connection)s ORDER BY id DESC LIMIT %(limit)s",
            connection=self.connection,
            limit=limit,
        )
        return [
            QueuedJob(
                id=row["id"],
                work=row["task_name"],
                connection=row["args"].get("connection"),
                mapping=row["args"].get("mapping"),
                status=row["status"],
                attempts=row["attempts"],
                scheduled_at=row["scheduled_at"],
                worker=row["worker_id"],
            )
            for row in rows
        ]

    def workers(self) -> int:
        """Workers that answered in the last minute (any connection's)."""
        row = self.app.connector.get_sync_connector().execute_query_one(
            "SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat > now() - interval '1 minute'"
        )
        return int(row["n"])

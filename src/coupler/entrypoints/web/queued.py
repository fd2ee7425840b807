"""Background work on the job queue: with ``[queue]`` configured, the web app and the REST API defer a job that a
`coupler worker` runs instead of using their thread pool, and show it as the same ``Task``.

A task is described by data (``Asked``: the kind of work, the mapping and its arguments), never by a closure. Its
id (``q`` and a hex string) goes with each job deferred for it, chained jobs included (a round of incremental jobs
over several mappings), so that its state is read back from the queue: waiting while no worker took it, running
with the records done so far from the worker's progress row, then done with the counters its jobs recorded in the
state store's job log, or failed with the worker's message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coupler.adapters.queue.client import JobQueue, Work
from coupler.adapters.queue.connection import answering, ensure_schema, ping, queue_app
from coupler.adapters.queue.progress import JobProgress, progress_of, recent_tasks
from coupler.adapters.queue.written import report_of
from coupler.domain.jobs import Job
from coupler.domain.timeutil import format_iso, parse_timestamp, utcnow
from coupler.entrypoints.schemas.jobs import summarize
from coupler.entrypoints.web.tasks import Task, problems_of
from coupler.services.engine.recorder import JobReport

__all__ = ["PREFIX", "WAITING", "Asked", "QueuedTasks", "task_of"]

PREFIX = "q"
"""The ids of the tasks on the queue start with it (the thread pool's are plain hex)."""
WAITING = "Waiting for a worker"
RUNNING = {"todo": False, "doing": True}


@dataclass(frozen=True, kw_only=True, slots=True)
class Asked:
    """One piece of background work as data: ``work`` on ``mapping`` with its ``arguments`` (JSON values); for an
    incremental round, ``then`` names the mappings whose jobs follow, in dependency order."""

    work: Work
    mapping: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    then: tuple[str, ...] = ()


class QueuedTasks:
    """Defers tasks to the queue of ``connection`` in the state store at ``state_url`` and reads them back;
    ``job_of`` finds a job of the state store's log (their counters are a finished task's summary)."""

    def __init__(
        self,
        state_url: str,
        *,
        connection: str,
        job_of: Callable[[str], Job | None],
        remember: Callable[[Sequence[JobReport]], None] | None = None,
    ) -> None:
        self._url, self._connection, self._job_of = state_url, connection, job_of
        self._remember = remember  # told what a finished task's jobs wrote, for their notices
        self._ready = False

    def _queue(self) -> JobQueue:
        """The queue, its database checked to answer first (``QueueUnavailable`` in people's words otherwise)."""
        if not self._ready:
            ensure_schema(self._url)
            self._ready = True
        else:
            ping(self._url)
        return JobQueue(queue_app(self._url), connection=self._connection)

    def submit(self, label: str, asked: Asked) -> Task:
        """Defer the job (one row: when the database does not answer, nothing is queued and nothing is kept)."""
        task = Task(id=PREFIX + uuid.uuid4().hex, label=label, stage=WAITING)
        tag = {"id": task.id, "label": label, "at": format_iso(task.started_at)}
        queue = self._queue()
        with answering(self._url), queue.app.open():
            if asked.work is Work.INCREMENTAL:
                queue.incremental(asked.mapping, then=asked.then, task=tag)
            else:
                queue.defer(asked.work, asked.mapping, task=tag, **asked.arguments)
        return task

    def get(self, task_id: str) -> Task | None:
        if not task_id.startswith(PREFIX):
            return None
        queue = self._queue()
        with answering(self._url), queue.app.open():
            jobs = progress_of(queue.app, connection=self._connection, task=task_id)
        return task_of(task_id, jobs, self._job_of, remember=self._remember) if jobs else None

    def recent(self, limit: int = 20) -> list[Task]:
        queue = self._queue()
        with answering(self._url), queue.app.open():
            ids = recent_tasks(queue.app, connection=self._connection, limit=limit)
            found = [(i, progress_of(queue.app, connection=self._connection, task=i)) for i in ids]
        return [task_of(i, jobs, self._job_of) for i, jobs in found if jobs]


def task_of(
    task_id: str,
    jobs: Sequence[JobProgress],
    job_of: Callable[[str], Job | None],
    *,
    remember: Callable[[Sequence[JobReport]], None] | None = None,
) -> Task:
    """The task ``task_id`` as its ``jobs`` in the queue (oldest first, at least one) stand: running while one waits
    or runs (the stage and records done of the one running), failed with the first failed job's message, else done
    with the counters of the state store's jobs they recorded (``job_of`` finds them); ``remember`` is then given
    their reports with what the worker carried of what they wrote (old and new values, pairs decoupled)."""
    tag = jobs[0].task
    task = Task(id=task_id, label=str(tag.get("label", "")), started_at=parse_timestamp(tag.get("at")) or utcnow())
    unfinished = [j for j in jobs if j.status in RUNNING]
    task.job_ids = [i for j in jobs for i in j.jobs]
    if unfinished:
        doing = next((j for j in unfinished if RUNNING[j.status]), None)
        if doing is None:
            waiting = next((j.stage for j in unfinished if j.stage), None)  # tried, and waits for its mapping
            task.stage = waiting or WAITING
        else:
            task.stage, task.done, task.total = doing.stage, doing.done, doing.total
        return task
    task.finished_at = max((j.finished_at for j in jobs if j.finished_at), default=utcnow())
    failed = [j for j in jobs if j.status != "succeeded"]
    if failed:
        task.state = "failed"
        task.error = failed[0].error or f"The job on {failed[0].mapping} was {failed[0].status}."
        return task
    carried = {job_id: entry for j in jobs for job_id, entry in j.written.items()}
    reports = [report_of(job, carried) for job in (job_of(i) for i in task.job_ids) if job is not None]
    if remember is not None:
        remember(reports)
    task.state = "done"
    task.message = summarize(reports)
    task.problems = problems_of(reports)
    return task

"""Long work in the background: each task runs on a thread pool with a Coupler of its own and reports progress.

At most ``MAX_UNFINISHED`` tasks wait or run at once (each holds its input, such as the records of a selection); a
task submitted beyond that is refused with 503 and ``Retry-After`` rather than queued without end.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from fastapi import HTTPException

from coupler.domain.errors import CouplerError
from coupler.domain.timeutil import utcnow
from coupler.entrypoints.schemas.jobs import summarize
from coupler.services.api import Coupler
from coupler.services.context import Progress
from coupler.services.engine.recorder import JobReport
from coupler.services.wording import plural

__all__ = ["MAX_UNFINISHED", "Task", "TaskProgress", "TaskRunner", "TaskState", "Work", "problems_of", "summarize"]

MAX_UNFINISHED = 32

log = logging.getLogger(__name__)

TaskState = Literal["running", "done", "failed"]
Work = Callable[[Coupler, "TaskProgress"], "list[JobReport] | JobReport"]
Opener = Callable[[Progress], Coupler]


@dataclass(kw_only=True)
class Task:
    """A snapshot of one piece of background work (``TaskRunner.get`` hands out copies)."""

    id: str
    label: str
    state: TaskState = "running"
    stage: str | None = None
    done: int = 0
    total: int | None = None
    job_ids: list[str] = field(default_factory=list)
    message: str | None = None
    error: str | None = None
    problems: str | None = None
    """What the finished jobs left to look at ("1 conflict, 2 failed"), None when nothing: such a task is shown as
    finished with problems, not as done."""
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def percent(self) -> int | None:
        """How far the current stage is, 0 to 100, when its total is known (None: show an indeterminate bar)."""
        if self.total is None:
            return None
        if self.total <= 0:
            return 100
        return min(100, self.done * 100 // self.total)


class TaskProgress(Progress):
    """Feeds a task's stage and counts from the services' progress calls: each stage (a pass, a batch of work)
    starts counting from zero, with its total when the services know it."""

    def __init__(self, runner: TaskRunner, task_id: str) -> None:
        self._runner = runner
        self._task_id = task_id

    def start(self, label: str, total: int | None = None, *, unit: str = "records") -> None:
        self._runner._update(self._task_id, stage=label, total=total, done=0)

    def advance(self, count: int) -> None:
        self._runner._advance(self._task_id, count)


class TaskRunner:
    """Runs work on a ``ThreadPoolExecutor``; keeps the latest ``keep`` tasks for the progress pages and refuses a
    task (HTTPException 503) while ``most`` are waiting or running."""

    def __init__(
        self,
        open_coupler: Opener,
        *,
        workers: int = 2,
        keep: int = 200,
        most: int = MAX_UNFINISHED,
        on_done: Callable[[list[JobReport]], None] | None = None,
    ) -> None:
        self._open = open_coupler
        self._on_done = on_done
        self._keep = keep
        self._most = most
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="coupler-task")

    def submit(self, label: str, work: Work) -> Task:
        task = Task(id=uuid.uuid4().hex, label=label)
        with self._lock:
            unfinished = sum(1 for t in self._tasks.values() if not t.finished)
            if unfinished >= self._most:
                raise HTTPException(
                    status_code=503,
                    detail=f"{unfinished} background tasks are waiting or running: try again when one has finished.",
                    headers={"Retry-After": "5"},
                )
            self._tasks[task.id] = task
            while len(self._tasks) > self._keep:
                oldest = next(iter(self._tasks))
                if not self._tasks[oldest].finished:
                    break
                del self._tasks[oldest]
            snapshot = replace(task, job_ids=list(task.job_ids))
        self._pool.submit(self._run, task.id, work)
        return snapshot

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return replace(task, job_ids=list(task.job_ids)) if task else None

    def recent(self, limit: int = 20) -> list[Task]:
        """The latest tasks, newest first."""
        with self._lock:
            tasks = list(self._tasks.values())[-limit:] if limit > 0 else []
            return [replace(t, job_ids=list(t.job_ids)) for t in reversed(tasks)]

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # the worker side ---------------------------------------------------------------------------------------
    def _run(self, task_id: str, work: Work) -> None:
        progress = TaskProgress(self, task_id)
        try:
            with self._open(progress) as coupler:
                result = work(coupler, progress)
        except CouplerError as error:
            self._update(task_id, state="failed", error=error.message, finished_at=utcnow())
            return
        except Exception as error:  # the job runner's last resort: the task fails with a message, the pool lives on
            log.exception("background task %s failed", task_id)
            message = f"internal error: {type(error).__name__}: {error}"
            self._update(task_id, state="failed", error=message, finished_at=utcnow())
            return
        reports = result if isinstance(result, list) else [result]
        if self._on_done is not None:
            self._on_done(reports)
        self._update(
            task_id,
            state="done",
            job_ids=[r.job.id for r in reports],
            message=summarize(reports),
            problems=problems_of(reports),
            finished_at=utcnow(),
        )

    def _update(self, task_id: str, **changes: object) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                for name, value in changes.items():
                    setattr(task, name, value)

    def _advance(self, task_id: str, count: int) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                task.done += count


def problems_of(reports: Sequence[JobReport]) -> str | None:
    """'1 conflict, 2 failed' over the reports' counters, or None when no job parked a conflict or failed a record
    (records a match left unmatched are its ordinary outcome, counted in its summary)."""
    conflicts = sum(r.job.counters.conflicts for r in reports)
    failed = sum(r.job.counters.failed for r in reports)
    parts = [plural(conflicts, "conflict")] if conflicts else []
    parts += [f"{failed:,} failed"] if failed else []
    return ", ".join(parts) or None

"""The job log in memory: jobs (kept as a database row holds them: in UTC, with their own copy of the counters) and
their errors (numbered as a database would)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coupler.domain.jobs import Job, JobError
from coupler.domain.timeutil import to_utc
from coupler.ports.store import Jobs

__all__ = ["MemoryJobs"]


class MemoryJobs(Jobs):
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._jobs: dict[str, Job] = {}
        self._errors: list[JobError] = []

    def add(self, job: Job) -> None:
        with self._lock:
            if job.id in self._jobs:
                raise ValueError(f"a job with id {job.id!r} exists")
            self._jobs[job.id] = _snapshot(job)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            stored = self._jobs.get(job_id)
        return None if stored is None else _snapshot(stored)

    def recent(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        with self._lock:
            chosen = [j for j in self._jobs.values() if mapping is None or j.mapping == mapping]
        chosen.sort(key=lambda j: (j.started_at, j.id), reverse=True)
        return [_snapshot(j) for j in chosen[:limit]]

    def errors(
        self,
        *,
        job_id: str | None = None,
        mapping: str | None = None,
        key: str | None = None,
        limit: int = 100,
    ) -> list[JobError]:
        with self._lock:
            chosen = [
                e
                for e in self._errors
                if (job_id is None or e.job_id == job_id)
                and (mapping is None or e.mapping == mapping)
                and (key is None or key in (e.local_key, e.integration_key))
            ]
        chosen.sort(key=lambda e: (e.at, e.id or 0), reverse=True)
        return chosen[:limit]

    def delete_errors(self, *, before: datetime, mapping: str | None = None) -> int:
        with self._lock:
            kept = [e for e in self._errors if not (e.at < before and (mapping is None or e.mapping == mapping))]
            deleted = len(self._errors) - len(kept)
            self._errors[:] = kept
            return deleted

    # in the unit of work ---------------------------------------------------------------------------------------
    def check(self, errors: Sequence[JobError], job: Job | None) -> None:
        """Refuse what the database refuses: errors must belong to a known job (or to ``job``, saved with them)."""
        with self._lock:
            unknown = {e.job_id for e in errors} - self._jobs.keys() - {job.id if job else ""}
        if unknown:
            raise ValueError(f"job errors refer to unknown jobs: {', '.join(sorted(unknown))}")

    def write(self, job: Job | None, errors: Sequence[JobError]) -> None:
        """Store the job's progress (adding it if it was not) and add its errors."""
        with self._lock:
            if job is not None:
                self._jobs[job.id] = _snapshot(job)
            next_id = (self._errors[-1].id or 0) + 1 if self._errors else 1  # ids stay unique after deletions
            self._errors.extend(replace(e, id=next_id + i, at=to_utc(e.at)) for i, e in enumerate(errors))


def _snapshot(job: Job) -> Job:
    """The job in UTC with its own copy of the (mutable) counters, as a database row holds them."""
    finished_at = None if job.finished_at is None else to_utc(job.finished_at)
    return replace(job, started_at=to_utc(job.started_at), finished_at=finished_at, counters=job.counters.copy())

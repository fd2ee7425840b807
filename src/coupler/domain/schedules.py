"""A mapping's schedule, as Business Central's job-queue entries have one: an interval between incremental runs and
an inactivity back-off (a mapping that found nothing for ``idle_after`` runs in a row is polled every
``idle_every`` instead, until a run finds something again).

Pure decisions over the job log: ``next_run`` says when a mapping is due from its recent incremental jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from coupler.domain.jobs import Job, JobKind

__all__ = ["QueueSettings", "Schedule", "ScheduleState", "found_something", "next_run"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    """How often a mapping's incremental job runs."""

    every: timedelta
    """The interval between runs (Business Central's *No. of Minutes between Runs*)."""
    idle_after: int = 0
    """Runs in a row that found nothing before the mapping is polled less often; 0: never back off."""
    idle_every: timedelta | None = None
    """The interval while idle (longer than ``every``)."""
    enabled: bool = True
    """False: the mapping is not scheduled (it still runs when asked)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueSettings:
    """The queue as the file sets it, durations parsed."""

    connection: str = "default"
    scheduled: bool = True
    every: timedelta = timedelta(minutes=30)
    idle_after: int = 5
    idle_every: timedelta = timedelta(hours=2)
    takeover_after: timedelta = timedelta(seconds=60)
    tick: timedelta = timedelta(seconds=10)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    """Schedules of the mappings that have their own, by mapping name."""

    def schedule(self, mapping: str) -> Schedule:
        """The mapping's own schedule, or the queue's defaults."""
        own = self.schedules.get(mapping.upper())
        if own is not None:
            return own
        return Schedule(every=self.every, idle_after=self.idle_after, idle_every=self.idle_every)


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduleState:
    """Where a mapping stands on its schedule."""

    schedule: Schedule
    last_run: datetime | None
    """When its last incremental job started (None: never ran)."""
    running: bool
    """An incremental job of it is open in the job log (a job left open by a run that died counts too, so this
    does not hold the schedule back: the mapping's locks keep two runs apart)."""
    idle_runs: int
    """Incremental runs in a row (most recent first) that found nothing."""
    next_run: datetime | None
    """When it is due (None: not scheduled)."""

    @property
    def idle(self) -> bool:
        return self.schedule.idle_after > 0 and self.idle_runs >= self.schedule.idle_after

    @property
    def interval(self) -> timedelta:
        """The interval in force: ``idle_every`` while idle, else ``every``."""
        return _interval(self.schedule, self.idle_runs)

    def due(self, now: datetime) -> bool:
        return self.next_run is not None and self.next_run <= now


def found_something(job: Job) -> bool:
    """The job changed, coupled, skipped or failed at least one record (records read unchanged do not count)."""
    return job.counters.total - job.counters.unchanged > 0


def next_run(schedule: Schedule, recent: Sequence[Job]) -> ScheduleState:
    """The mapping's state from its recent jobs (any kinds, most recent first; incremental ones are read)."""
    runs = [job for job in recent if job.kind is JobKind.INCREMENTAL]
    running = any(job.finished_at is None for job in runs)
    idle_runs = 0
    for job in (job for job in runs if job.finished_at is not None):
        if found_something(job):
            break
        idle_runs += 1
    last = runs[0].started_at if runs else None
    if not schedule.enabled:
        due = None
    elif last is None:
        due = datetime.min.replace(tzinfo=UTC)  # never ran: due at once
    else:
        due = last + _interval(schedule, idle_runs)
    return ScheduleState(schedule=schedule, last_run=last, running=running, idle_runs=idle_runs, next_run=due)


def _interval(schedule: Schedule, idle_runs: int) -> timedelta:
    if schedule.idle_after > 0 and idle_runs >= schedule.idle_after and schedule.idle_every is not None:
        return schedule.idle_every
    return schedule.every

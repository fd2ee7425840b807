"""Where each mapping stands on its schedule (``coupler queue``, the scheduler): its last incremental run, the
interval in force (backed off while it finds nothing), and when it is due; and for the connection page, each
mapping's recent runs with how each ended (``activity``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from coupler.domain.jobs import Job
from coupler.domain.mapping import TableMapping
from coupler.domain.schedules import Schedule, ScheduleState, found_something, next_run
from coupler.services.context import Systems

__all__ = ["HISTORY", "MappingActivity", "MappingSchedule", "RunOutcome", "activity", "run_outcome", "schedules"]

_RECENT_JOBS = 50
"""Jobs of a mapping read to find its recent incremental runs."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingSchedule:
    mapping: str
    state: ScheduleState


def schedules(
    systems: Systems, schedule_of: Callable[[str], Schedule], names: Sequence[str] | None = None
) -> list[MappingSchedule]:
    """Every mapping (or those named) in dependency order, with where it stands on its schedule."""
    return [
        MappingSchedule(
            mapping=mapping.name,
            state=next_run(
                schedule_of(mapping.name), systems.store.jobs.recent(limit=_RECENT_JOBS, mapping=mapping.name)
            ),
        )
        for mapping in systems.in_dependency_order(names)
    ]


# the connection page: each mapping's last run, next run and its recent runs ----------------------------------
HISTORY = 20
"""Runs the connection page's history bar shows per mapping."""


class RunOutcome(StrEnum):
    """How a job ended, as the history bar colours it."""

    SUCCEEDED = "succeeded"
    CONFLICTS = "with conflicts"
    """Records parked as conflicts or left unmatched, none failed."""
    FAILED = "failed"
    """Records failed, or the job stopped before the end."""
    NOTHING = "nothing to do"
    RUNNING = "running"


STOPPED_PREFIX = "Stopped before the end"
"""How the job recorder begins the message of a job that stopped half-way (``services/engine/recorder.py``)."""


def run_outcome(job: Job) -> RunOutcome:
    """The job's colour in the history bar."""
    counters = job.counters
    if job.finished_at is None:
        return RunOutcome.RUNNING
    if counters.failed or (job.message or "").startswith(STOPPED_PREFIX):
        return RunOutcome.FAILED
    if counters.conflicts or counters.unmatched:
        return RunOutcome.CONFLICTS
    if not found_something(job):
        return RunOutcome.NOTHING
    return RunOutcome.SUCCEEDED


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingActivity:
    """One mapping on the connection page: its recent jobs (most recent first, at most ``HISTORY``) and, when the
    connection has a schedule, where the mapping stands on it."""

    mapping: TableMapping
    recent: tuple[Job, ...]
    state: ScheduleState | None
    """None: the connection has no schedule (jobs run when someone starts them)."""

    @property
    def last(self) -> Job | None:
        """The last job of the mapping, whatever its kind."""
        return self.recent[0] if self.recent else None

    @property
    def history(self) -> tuple[tuple[Job, RunOutcome], ...]:
        """The recent jobs oldest first, as the history bar reads left to right, each with its outcome."""
        return tuple((job, run_outcome(job)) for job in reversed(self.recent))


def activity(
    systems: Systems, schedule_of: Callable[[str], Schedule] | None, *, history: int = HISTORY
) -> list[MappingActivity]:
    """Every mapping in dependency order with its recent jobs and its schedule: one bounded read of the job log per
    mapping (its last ``_RECENT_JOBS`` jobs, by the index on mapping and start)."""
    found = []
    for mapping in systems.in_dependency_order():
        recent = systems.store.jobs.recent(limit=max(_RECENT_JOBS, history), mapping=mapping.name)
        state = next_run(schedule_of(mapping.name), recent) if schedule_of is not None else None
        found.append(MappingActivity(mapping=mapping, recent=tuple(recent[:history]), state=state))
    return found

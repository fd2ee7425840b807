"""Where each mapping stands on its schedule (``coupler queue``, the scheduler): its last incremental run, the
interval in force (backed off while it finds nothing), and when it is due."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coupler.domain.schedules import Schedule, ScheduleState, next_run
from coupler.services.context import Systems

__all__ = ["MappingSchedule", "schedules"]

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

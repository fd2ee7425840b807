"""``[queue]`` in coupler.toml: jobs go through a job queue in the PostgreSQL state store, run by `coupler worker`.

Without the section (or with ``enabled = false``) every command and the web app run their jobs in their own process,
as always. With it, the schedules are Business Central's job-queue entries: every mapping runs its incremental job
every ``every``, backs off to ``idle_every`` after ``idle_after`` runs that found nothing, and
``[queue.mappings.NAME]`` sets one mapping's own values.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from coupler.domain.schedules import QueueSettings, Schedule

__all__ = ["MappingScheduleModel", "QueueModel", "parse_interval", "queue_settings"]

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_interval(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1h30m``, ``2d``: whole numbers with units, largest first (ValueError otherwise)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration; use a number with a unit, e.g. 30s, 5m, 1h or 1h30m")
    seconds = sum(int(value) * unit for value, unit in zip(match.groups(), _UNITS.values(), strict=True) if value)
    if seconds <= 0:
        raise ValueError(f"{text!r} is no time at all; use at least 1s")
    return timedelta(seconds=seconds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("every", "idle_every", "takeover_after", "tick", check_fields=False)
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value


class MappingScheduleModel(_Strict):
    """``[queue.mappings.NAME]``: one mapping's schedule, over the queue's defaults."""

    enabled: bool = True
    every: str | None = None
    idle_after: int | None = Field(default=None, ge=0)
    idle_every: str | None = None


class QueueModel(_Strict):
    enabled: bool = True
    connection: str = Field(default="default", pattern=r"^[A-Za-z0-9_.\-]{1,60}$")
    """This connection's name in the queue: the workers serve every connection whose file they are given."""
    scheduled: bool = True
    """False: the workers run only the jobs asked for (`coupler run --queue`, the web app), no schedules."""
    every: str = "30m"
    idle_after: int = Field(default=5, ge=0)
    idle_every: str = "2h"
    takeover_after: str = "60s"
    """A job whose worker stopped answering (killed, its machine lost) is taken up by another worker after this."""
    tick: str = "10s"
    """How often the scheduler looks for mappings that are due (a whole number of seconds up to 60s)."""
    mappings: dict[str, MappingScheduleModel] = Field(default_factory=dict)

    @field_validator("tick")
    @classmethod
    def _tick_in_seconds(cls, value: str) -> str:
        seconds = parse_interval(value).total_seconds()
        if seconds > 60 or 60 % seconds:
            raise ValueError("the scheduler's tick divides a minute: 1s, 2s, 5s, 10s, 15s, 30s or 60s")
        return value


def queue_settings(model: QueueModel) -> QueueSettings:
    """The queue as the file sets it, durations parsed."""
    every, idle_every = parse_interval(model.every), parse_interval(model.idle_every)
    return QueueSettings(
        connection=model.connection,
        scheduled=model.scheduled,
        every=every,
        idle_after=model.idle_after,
        idle_every=idle_every,
        takeover_after=parse_interval(model.takeover_after),
        tick=parse_interval(model.tick),
        schedules={
            name.upper(): Schedule(
                every=parse_interval(own.every) if own.every else every,
                idle_after=model.idle_after if own.idle_after is None else own.idle_after,
                idle_every=parse_interval(own.idle_every) if own.idle_every else idle_every,
                enabled=own.enabled,
            )
            for name, own in model.mappings.items()
        },
    )

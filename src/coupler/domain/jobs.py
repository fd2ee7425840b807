"""Synchronization jobs, their counters and their per-record errors: the log a user reads."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from coupler.domain.mapping import Side

__all__ = ["Counters", "FieldChange", "Job", "JobError", "JobKind", "Written"]


class JobKind(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"
    MANUAL = "manual"
    COUPLE = "couple"
    CREATE = "create"
    DECOUPLE = "decouple"
    MATCH = "match"
    RESOLVE = "resolve"
    RESTORE = "restore"
    DELETE = "delete"


@dataclass(kw_only=True, slots=True)
class Counters:
    """Mutable tallies while a job runs; a finished job holds a copy."""

    inserted: int = 0
    modified: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    coupled: int = 0
    uncoupled: int = 0
    conflicts: int = 0
    unmatched: int = 0

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def copy(self) -> Counters:
        return Counters(**self.as_dict())

    @property
    def total(self) -> int:
        return sum(self.as_dict().values()) - self.conflicts


@dataclass(frozen=True, kw_only=True, slots=True)
class Job:
    """One run over one mapping (a synchronization, a coupling, a match...) with what it counted."""

    id: str
    mapping: str
    kind: JobKind
    direction: str
    started_at: datetime
    finished_at: datetime | None = None
    counters: Counters = field(default_factory=Counters)
    message: str | None = None

    def finish(self, *, at: datetime, counters: Counters, message: str | None = None) -> Job:
        return replace(self, finished_at=at, counters=counters.copy(), message=message)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True, kw_only=True, slots=True)
class JobError:
    """A record a job could not process, and why; a key is None when it is not known."""

    job_id: str
    mapping: str
    local_key: str | None
    integration_key: str | None
    message: str
    detail: str | None
    at: datetime
    id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldChange:
    """One field a job wrote: as the user knows it (its caption), its value before (None for a new record) and after."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Written:
    """A record a job wrote, for the notice after an action: the ``side`` written, the record as the user knows it
    (``title``: "C00020 Trey Research"), ``ref`` what opens its card (the local record's display key, else a key),
    whether it was ``created``, and the fields written with their old and new values (the first few)."""

    side: Side
    title: str
    ref: str
    created: bool = False
    changes: tuple[FieldChange, ...] = ()

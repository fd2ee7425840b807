"""State that coupler keeps beside couplings: parked conflicts, failures of uncoupled records, pending deletions,
intents to create records (for crash safety), the locks runs hold. Values only; the state store persists them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from coupler.domain.mapping import Direction, Side

__all__ = ["Conflict", "ConflictField", "CreateIntent", "Lock", "PendingDeletion", "RecordFailure"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConflictField:
    """One field changed to different values on both sides since the last sync. Values are JSON-ready."""

    pair: str
    local_field: str
    integration_field: str
    local_value: Any
    integration_value: Any
    last_local: Any
    last_integration: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Conflict:
    """A parked conflict: the record pair is not written until a user resolves it."""

    mapping: str
    local_key: str
    integration_key: str
    fields: tuple[ConflictField, ...]
    detected_at: datetime
    job_id: str

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(f.pair for f in self.fields)


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordFailure:
    """An uncoupled ``side`` record whose counterpart could not be created. Retried on each run; the same
    message twice in a row makes it skipped, as for coupled records."""

    mapping: str
    side: Side
    key: str
    message: str
    job_id: str
    at: datetime
    failure_count: int = 1
    skipped: bool = False

    def again(self, *, message: str, job_id: str, at: datetime, retryable: bool = False) -> RecordFailure:
        if retryable:
            return replace(self, message=message, job_id=job_id, at=at)
        count = self.failure_count + 1 if message == self.message else 1
        return replace(self, message=message, job_id=job_id, at=at, failure_count=count, skipped=count >= 2)


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingDeletion:
    """The ``side`` record ``deleted_key`` is gone; deleting its partner ``survivor_key`` waits for approval.

    ``reported`` is True when the system reported the deletion (a deleted-entries feed), False when it was inferred
    from the record's absence."""

    mapping: str
    side: Side
    deleted_key: str
    survivor_key: str
    detected_at: datetime
    job_id: str
    reported: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateIntent:
    """Written before a record is created with a key chosen in advance, so that after a crash the next run finds
    the created record and couples it instead of creating it again."""

    mapping: str
    direction: Direction
    source_key: str
    target_key: str
    at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)
    """The target's values as sent, canonical (see fingerprint.canonical): what the created record held."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A named lock as the state store holds it: ``owner`` (a job id) holds it until ``until`` unless it renews it.
    ``host`` and ``pid`` name the process that took it (None for a lock taken before coupler recorded them), so that
    an administrator can tell a live owner from a dead one."""

    name: str
    owner: str
    until: datetime
    host: str | None = None
    pid: int | None = None

    def expired(self, now: datetime) -> bool:
        """Whether another owner may take it at ``now`` (the moment ``until`` itself still belongs to the owner)."""
        return self.until < now

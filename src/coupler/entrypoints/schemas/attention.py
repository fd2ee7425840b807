"""The JSON shapes of what needs attention: parked conflicts, skipped records and pending deletions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion
from coupler.entrypoints.schemas.base import Out, Time
from coupler.services.operations.attention import SkippedRecord

__all__ = ["ConflictFieldOut", "ConflictOut", "DeletionOut", "SkippedOut"]


class ConflictFieldOut(Out):
    """Values as coupler stores them for comparison: text as it is, empty text as null, numbers as text prefixed
    with `#`, dates and times as ISO text prefixed with `@`, booleans as 0 or 1."""

    pair: str
    local_field: str
    integration_field: str
    local_value: Any = None
    integration_value: Any = None
    last_local: Any = Field(None, description="The local value when last synchronized.")
    last_integration: Any = None


class ConflictOut(Out):
    mapping: str
    local_key: str
    integration_key: str
    detected_at: Time
    job_id: str
    fields: list[ConflictFieldOut]

    @classmethod
    def of(cls, conflict: Conflict) -> ConflictOut:
        return cls.model_validate(conflict)


class SkippedOut(Out):
    mapping: str
    local_key: str | None
    integration_key: str | None
    local_exists: bool
    integration_exists: bool
    error: str | None = Field(description="The error that made the record skipped.")
    coupled: bool

    @classmethod
    def of(cls, record: SkippedRecord) -> SkippedOut:
        return cls.model_validate(record)


class DeletionOut(Out):
    mapping: str
    side: Side = Field(description="The side whose record was deleted.")
    deleted_key: str
    survivor_key: str = Field(description="The partner whose deletion waits for approval.")
    detected_at: Time
    job_id: str
    reported: bool = Field(description="The system reported the deletion (false: inferred from its absence).")

    @classmethod
    def of(cls, deletion: PendingDeletion) -> DeletionOut:
        return cls.model_validate(deletion)

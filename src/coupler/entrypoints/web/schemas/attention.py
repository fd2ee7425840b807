"""The JSON shapes of the REST API's attention list: conflicts, skipped records and pending deletions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coupler.domain.mapping import Side
from coupler.domain.state import Conflict, PendingDeletion
from coupler.entrypoints.web.schemas.common import MAX_REFS, Name, Ref, StrictIn
from coupler.services.operations.attention import SkippedRecord

__all__ = ["ConflictFieldOut", "ConflictOut", "DeletionOut", "ResolveIn", "SelectionIn", "SkippedOut"]


class SelectionIn(StrictIn):
    """Records named, or ``all`` of them (then ``refs`` stays empty)."""

    refs: list[Ref] = Field(default_factory=list, max_length=MAX_REFS)
    all: bool = False


class ResolveIn(StrictIn):
    use: Side = Field(description="The side whose values win.")
    fields: list[Name] = Field(
        default_factory=list, max_length=200, description="Only these fields (local, integration or pair names)."
    )


class ConflictFieldOut(BaseModel):
    pair: str
    local_field: str
    integration_field: str
    local_value: Any = None
    integration_value: Any = None
    last_local: Any = None
    last_integration: Any = None


class ConflictOut(BaseModel):
    mapping: str
    local_key: str
    integration_key: str
    detected_at: datetime
    job_id: str
    fields: list[ConflictFieldOut]

    @classmethod
    def of(cls, c: Conflict) -> ConflictOut:
        fields = [
            ConflictFieldOut(
                pair=f.pair,
                local_field=f.local_field,
                integration_field=f.integration_field,
                local_value=f.local_value,
                integration_value=f.integration_value,
                last_local=f.last_local,
                last_integration=f.last_integration,
            )
            for f in c.fields
        ]
        return cls(
            mapping=c.mapping,
            local_key=c.local_key,
            integration_key=c.integration_key,
            detected_at=c.detected_at,
            job_id=c.job_id,
            fields=fields,
        )


class SkippedOut(BaseModel):
    mapping: str
    local_key: str | None
    integration_key: str | None
    local_exists: bool
    integration_exists: bool
    error: str | None
    coupled: bool

    @classmethod
    def of(cls, s: SkippedRecord) -> SkippedOut:
        return cls(
            mapping=s.mapping,
            local_key=s.local_key,
            integration_key=s.integration_key,
            local_exists=s.local_exists,
            integration_exists=s.integration_exists,
            error=s.error,
            coupled=s.coupled,
        )


class DeletionOut(BaseModel):
    mapping: str
    side: Side
    deleted_key: str
    survivor_key: str
    detected_at: datetime
    job_id: str
    reported: bool

    @classmethod
    def of(cls, d: PendingDeletion) -> DeletionOut:
        return cls(
            mapping=d.mapping,
            side=d.side,
            deleted_key=d.deleted_key,
            survivor_key=d.survivor_key,
            detected_at=d.detected_at,
            job_id=d.job_id,
            reported=d.reported,
        )

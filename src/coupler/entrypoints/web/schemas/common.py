"""The JSON shapes of the REST API shared by its resources: request basics (validated, unknown keys refused),
the connection check and the table mappings. Records, jobs, attention and tasks have their own modules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coupler.domain.mapping import Direction, FieldMapping, TableMapping, TableSpec
from coupler.ports.store import CouplingStats
from coupler.services.views.queries import MappingOverview
from coupler.services.views.review import Recommendation

__all__ = [
    "MAX_REFS",
    "MAX_TASK_REFS",
    "ConnectionOut",
    "CountsOut",
    "DeletedOut",
    "MappingDetailOut",
    "MappingOut",
    "Name",
    "RecommendationOut",
    "Ref",
    "RefsIn",
    "StrictIn",
]

MAX_REFS = 1000  # records one request handles at once; more go through a background task
MAX_TASK_REFS = 100_000

Ref = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class StrictIn(BaseModel):
    """A request body: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class RefsIn(StrictIn):
    refs: list[Ref] = Field(min_length=1, max_length=MAX_REFS, description="Keys or display keys (either side).")


class ConnectionOut(BaseModel):
    ok: bool = Field(description="Both systems and the state store answer; every mapped table and column exists.")
    problems: list[str] = Field(description="What is wrong, one line each.")


class CountsOut(BaseModel):
    couplings: int
    failed: int
    skipped: int
    errors: int
    conflicts: int
    pending_deletions: int

    @classmethod
    def of(cls, stats: CouplingStats) -> CountsOut:
        return cls(
            couplings=stats.couplings,
            failed=stats.failed,
            skipped=stats.skipped,
            errors=stats.errors,
            conflicts=stats.conflicts,
            pending_deletions=stats.pending_deletions,
        )


class ConditionOut(BaseModel):
    field: str
    op: str
    value: Any = None


class TableOut(BaseModel):
    table: str
    key: str
    display_key: str | None
    modified_on: str | None
    filter: list[ConditionOut]

    @classmethod
    def of(cls, spec: TableSpec) -> TableOut:
        conditions = [ConditionOut(field=c.field, op=c.op.value, value=c.value) for c in spec.filter]
        return cls(
            table=spec.table,
            key=spec.key,
            display_key=spec.display_key,
            modified_on=spec.modified_on,
            filter=conditions,
        )


class FieldOut(BaseModel):
    pair: str
    local: str | None
    integration: str | None
    direction: Direction
    enabled: bool
    constant: Any = None
    has_constant: bool
    match_priority: int | None
    lookup: str | None
    transforms: list[str]

    @classmethod
    def of(cls, field: FieldMapping) -> FieldOut:
        return cls(
            pair=field.pair,
            local=field.local,
            integration=field.integration,
            direction=field.direction,
            enabled=field.enabled,
            constant=field.constant,
            has_constant=field.has_constant,
            match_priority=field.match_priority,
            lookup=field.lookup.mapping if field.lookup else None,
            transforms=[t.kind for t in field.transforms],
        )


class MappingOut(BaseModel):
    name: str
    direction: Direction
    local: TableOut
    integration: TableOut
    depends_on: list[str]
    sync_only_coupled: bool
    update_conflict: str
    deletion_conflict: str
    delete: str
    counts: CountsOut

    @classmethod
    def of(cls, overview: MappingOverview) -> MappingOut:
        return cls(**_mapping_fields(overview.mapping), counts=CountsOut.of(overview.stats))


class MappingDetailOut(MappingOut):
    fields: list[FieldOut]

    @classmethod
    def detailed(cls, overview: MappingOverview) -> MappingDetailOut:
        mapping = overview.mapping
        return cls(
            **_mapping_fields(mapping),
            counts=CountsOut.of(overview.stats),
            fields=[FieldOut.of(f) for f in mapping.fields],
        )


def _mapping_fields(mapping: TableMapping) -> dict[str, Any]:
    return {
        "name": mapping.name,
        "direction": mapping.direction,
        "local": TableOut.of(mapping.local),
        "integration": TableOut.of(mapping.integration),
        "depends_on": list(mapping.depends_on),
        "sync_only_coupled": mapping.sync_only_coupled,
        "update_conflict": mapping.update_conflict.value,
        "deletion_conflict": mapping.deletion_conflict.value,
        "delete": mapping.delete.value,
    }


class RecommendationOut(BaseModel):
    mapping: str
    advice: str
    reason: str
    local: str = Field(description="Records on the local side ('120+' when counting stopped early).")
    integration: str
    couplings: int

    @classmethod
    def of(cls, r: Recommendation) -> RecommendationOut:
        return cls(
            mapping=r.mapping,
            advice=r.advice.value,
            reason=r.reason,
            local=str(r.local),
            integration=str(r.integration),
            couplings=r.couplings,
        )


class DeletedOut(BaseModel):
    deleted: int

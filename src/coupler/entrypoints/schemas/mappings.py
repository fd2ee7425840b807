"""The JSON shapes of the table mappings: their setup and counts, and the full-synchronization review's advice."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from coupler.domain.mapping import (
    ConflictPolicy,
    DeletePropagation,
    DeletionPolicy,
    Direction,
    FieldMapping,
    Operator,
    TableMapping,
    TableSpec,
)
from coupler.entrypoints.schemas.base import Out, Value
from coupler.ports.store import CouplingStats
from coupler.services.views.queries import MappingOverview
from coupler.services.views.review import Advice, Recommendation, SideCount

__all__ = [
    "ConditionOut",
    "CountsOut",
    "FieldOut",
    "MappingDetailOut",
    "MappingOut",
    "RecommendationOut",
    "SideCountOut",
    "TableOut",
]


class CountsOut(Out):
    couplings: int
    failed: int
    skipped: int
    errors: int
    conflicts: int
    pending_deletions: int

    @classmethod
    def of(cls, stats: CouplingStats) -> CountsOut:
        return cls.model_validate(stats)


class ConditionOut(Out):
    field: str
    op: Operator
    value: Value = None


class TableOut(Out):
    table: str
    caption: str | None = Field(default=None, description="What a user calls the table's records.")
    key: str
    display_key: str | None
    modified_on: str | None = Field(description="The modified-on column.")
    filter: list[ConditionOut]

    @classmethod
    def of(cls, spec: TableSpec) -> TableOut:
        return cls.model_validate(spec)


class FieldOut(Out):
    pair: str
    caption: str | None = Field(default=None, description="What a user calls the field.")
    local: str | None
    integration: str | None
    direction: Direction
    enabled: bool
    constant: Value = None
    has_constant: bool
    match_priority: int | None
    lookup: str | None = Field(description="The mapping whose couplings translate the value.")
    transforms: list[str] = Field(description="The kinds of the transforms, in order.")

    @classmethod
    def of(cls, field: FieldMapping) -> FieldOut:
        return cls(
            pair=field.pair,
            caption=field.caption,
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


class MappingOut(Out):
    name: str
    direction: Direction
    local: TableOut
    integration: TableOut
    depends_on: list[str]
    sync_only_coupled: bool
    update_conflict: ConflictPolicy
    deletion_conflict: DeletionPolicy
    delete: DeletePropagation
    counts: CountsOut

    @classmethod
    def of(cls, overview: MappingOverview) -> MappingOut:
        return cls(**_setup(overview.mapping), counts=CountsOut.of(overview.stats))


class MappingDetailOut(MappingOut):
    fields: list[FieldOut]

    @classmethod
    def of(cls, overview: MappingOverview) -> MappingDetailOut:
        mapping = overview.mapping
        fields = [FieldOut.of(f) for f in mapping.fields]
        return cls(**_setup(mapping), counts=CountsOut.of(overview.stats), fields=fields)


def _setup(mapping: TableMapping) -> dict[str, Any]:
    """A mapping's setup: the fields of MappingOut but its counts."""
    return {
        "name": mapping.name,
        "direction": mapping.direction,
        "local": TableOut.of(mapping.local),
        "integration": TableOut.of(mapping.integration),
        "depends_on": list(mapping.depends_on),
        "sync_only_coupled": mapping.sync_only_coupled,
        "update_conflict": mapping.update_conflict,
        "deletion_conflict": mapping.deletion_conflict,
        "delete": mapping.delete,
    }


class SideCountOut(Out):
    records: int = Field(description="Records on the side, its filter applied.")
    more: bool = Field(description="Counting stopped early: the side holds at least `records` records.")

    @classmethod
    def of(cls, count: SideCount) -> SideCountOut:
        return cls(records=count.count, more=count.more)


class RecommendationOut(Out):
    mapping: str
    advice: Advice
    reason: str
    local: SideCountOut
    integration: SideCountOut
    couplings: int
    command: str | None = Field(description="The command that carries the advice out; null for nothing.")

    @classmethod
    def of(cls, recommendation: Recommendation) -> RecommendationOut:
        return cls(
            mapping=recommendation.mapping,
            advice=recommendation.advice,
            reason=recommendation.reason,
            local=SideCountOut.of(recommendation.local),
            integration=SideCountOut.of(recommendation.integration),
            couplings=recommendation.couplings,
            command=recommendation.command,
        )

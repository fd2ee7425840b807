"""The JSON shapes of the REST API: requests (validated, unknown keys refused) and responses built from coupler's
values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, FieldMapping, Side, TableMapping, TableSpec
from coupler.domain.records import Record
from coupler.domain.state import Conflict, PendingDeletion
from coupler.entrypoints.web.tasks import Task, summarize
from coupler.ports.store import CouplingStats
from coupler.services.attention import SkippedRecord
from coupler.services.browse import BrowsePage, BrowseRow
from coupler.services.queries import MappingOverview, RecordStatus
from coupler.services.recorder import JobReport
from coupler.services.review import Recommendation

__all__ = [
    "MAX_REFS",
    "MAX_TASK_REFS",
    "ConflictOut",
    "ConnectionOut",
    "CoupleIn",
    "CreateIn",
    "DecoupleAllIn",
    "DeletedOut",
    "DeletionOut",
    "JobErrorOut",
    "JobOut",
    "JobReportOut",
    "MappingDetailOut",
    "MappingOut",
    "MatchIn",
    "RecommendationOut",
    "RecordStatusOut",
    "RecordsPageOut",
    "Ref",
    "RefsIn",
    "ResolveIn",
    "SelectionIn",
    "SkippedOut",
    "SyncFullIn",
    "SyncIn",
    "SyncModifiedIn",
    "TaskOut",
    "TaskSyncIn",
]

MAX_REFS = 1000  # records one request handles at once; more go through a background task
MAX_TASK_REFS = 100_000

Ref = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# requests ----------------------------------------------------------------------------------------------------
class CoupleIn(_In):
    local: Ref = Field(description="The local record: primary key or display key (e.g. the customer number).")
    integration: Ref = Field(description="The integration record: primary key or display key.")
    sync_after: Side | None = Field(None, description="Synchronize right after, using this side's data.")


class CreateIn(_In):
    ref: Ref = Field(description="The record to create the counterpart of (its key or display key).")
    source: Side = Field(Side.LOCAL, description="The side that record is on.")


class RefsIn(_In):
    refs: list[Ref] = Field(min_length=1, max_length=MAX_REFS, description="Keys or display keys (either side).")


class SyncIn(RefsIn):
    direction: Direction | None = Field(
        None, description="Force a direction; by default the change rules decide (Synchronize now)."
    )


class TaskSyncIn(_In):
    mapping: Name
    refs: list[Ref] = Field(min_length=1, max_length=MAX_TASK_REFS)
    direction: Direction | None = None


class SelectionIn(_In):
    """Records named, or ``all`` of them (then ``refs`` stays empty)."""

    refs: list[Ref] = Field(default_factory=list, max_length=MAX_REFS)
    all: bool = False


class ResolveIn(_In):
    use: Side = Field(description="The side whose values win.")
    fields: list[Name] = Field(
        default_factory=list, max_length=200, description="Only these fields (local, integration or pair names)."
    )


class SyncModifiedIn(_In):
    mappings: list[Name] | None = Field(None, max_length=100, description="These mappings (default: all).")


class SyncFullIn(_In):
    mapping: Name
    force: bool = Field(False, description="Run a first full synchronization even though both sides hold records.")


class DecoupleAllIn(_In):
    mapping: Name = Field(description="The table mapping whose couplings are all removed (the records stay).")


class MatchIn(_In):
    mapping: Name
    groups: list[list[Name]] | None = Field(
        None, max_length=20, description="Groups of local fields tried in order (default: the match priorities)."
    )
    create_missing: bool = False
    sync_after: Literal["local", "integration", "both"] | None = None
    refs: list[Ref] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TASK_REFS,
        description="Only these local records (key or display key); default: every uncoupled local record. An "
        "unknown one fails the task, naming it.",
    )


# responses ---------------------------------------------------------------------------------------------------
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


class CouplingOut(BaseModel):
    local_key: str
    integration_key: str
    coupled_at: datetime
    last_synced_at: datetime | None
    to_integration_result: str | None
    from_integration_result: str | None
    last_error: str | None
    failure_count: int
    skipped: bool

    @classmethod
    def of(cls, c: Coupling) -> CouplingOut:
        return cls(
            local_key=c.local_key,
            integration_key=c.integration_key,
            coupled_at=c.coupled_at,
            last_synced_at=c.last_synced_at,
            to_integration_result=c.to_integration_result.value if c.to_integration_result else None,
            from_integration_result=c.from_integration_result.value if c.from_integration_result else None,
            last_error=c.last_error,
            failure_count=c.failure_count,
            skipped=c.skipped,
        )


class RecordOut(BaseModel):
    key: str
    modified_on: datetime | None
    values: dict[str, Any]

    @classmethod
    def of(cls, record: Record | None) -> RecordOut | None:
        if record is None:
            return None
        return cls(key=record.key, modified_on=record.modified_on, values=dict(record.values))


class RowOut(BaseModel):
    key: str
    display: str | None
    name: Any = None
    coupled: bool
    integration_key: str | None
    last_synced_at: datetime | None
    result: str | None
    skipped: bool
    in_conflict: bool
    last_error: str | None
    values: dict[str, Any] | None

    @classmethod
    def of(cls, row: BrowseRow) -> RowOut:
        return cls(
            key=row.key,
            display=row.display,
            name=row.name,
            coupled=row.coupled,
            integration_key=row.integration_key,
            last_synced_at=row.last_synced_at,
            result=row.result.value if row.result else None,
            skipped=row.skipped,
            in_conflict=row.in_conflict,
            last_error=row.last_error,
            values=dict(row.record.values) if row.record else None,
        )


class RecordsPageOut(BaseModel):
    mapping: str
    filter: str
    search: str | None
    rows: list[RowOut]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page.")
    total: int | None = Field(description="Records matching the filter and search, when known.")
    counts: CountsOut
    fields: list[str]

    @classmethod
    def of(cls, page: BrowsePage) -> RecordsPageOut:
        return cls(
            mapping=page.mapping,
            filter=page.filter.value,
            search=page.search,
            rows=[RowOut.of(r) for r in page.rows],
            next_after=page.next_after,
            total=page.total,
            counts=CountsOut.of(page.stats),
            fields=list(page.fields),
        )


class JobOut(BaseModel):
    id: str
    mapping: str
    kind: str
    direction: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    counters: dict[str, int]
    message: str | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            mapping=job.mapping,
            kind=job.kind.value,
            direction=job.direction,
            started_at=job.started_at,
            finished_at=job.finished_at,
            duration_seconds=job.duration_seconds,
            counters=job.counters.as_dict(),
            message=job.message,
        )


class JobErrorOut(BaseModel):
    id: int | None
    job_id: str
    mapping: str
    local_key: str | None
    integration_key: str | None
    message: str
    detail: str | None
    at: datetime

    @classmethod
    def of(cls, e: JobError) -> JobErrorOut:
        return cls(
            id=e.id,
            job_id=e.job_id,
            mapping=e.mapping,
            local_key=e.local_key,
            integration_key=e.integration_key,
            message=e.message,
            detail=e.detail,
            at=e.at,
        )


class JobReportOut(BaseModel):
    ok: bool = Field(description="Nothing failed, no conflict was parked, every record to match was matched.")
    summary: str = Field(description="The counters in words, e.g. '12 synchronized, 1 failed'.")
    job: JobOut
    errors: list[JobErrorOut]

    @classmethod
    def of(cls, report: JobReport) -> JobReportOut:
        return cls(
            ok=report.ok,
            summary=summarize([report]),
            job=JobOut.of(report.job),
            errors=[JobErrorOut.of(e) for e in report.errors],
        )


class RecordStatusOut(BaseModel):
    mapping: str
    ref: str
    coupling: CouplingOut | None
    local: RecordOut | None
    integration: RecordOut | None
    errors: list[JobErrorOut]

    @classmethod
    def of(cls, status: RecordStatus) -> RecordStatusOut:
        return cls(
            mapping=status.mapping,
            ref=status.ref,
            coupling=CouplingOut.of(status.coupling) if status.coupling else None,
            local=RecordOut.of(status.local),
            integration=RecordOut.of(status.integration),
            errors=[JobErrorOut.of(e) for e in status.errors],
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


class TaskOut(BaseModel):
    id: str
    label: str
    state: Literal["running", "done", "failed"]
    stage: str | None
    done: int = Field(description="Records done in the current stage.")
    total: int | None = Field(description="Records in the current stage, when known.")
    percent: int | None = Field(description="How far the current stage is (0-100), when its total is known.")
    job_ids: list[str]
    message: str | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, t: Task) -> TaskOut:
        return cls(
            id=t.id,
            label=t.label,
            state=t.state,
            stage=t.stage,
            done=t.done,
            total=t.total,
            percent=t.percent,
            job_ids=list(t.job_ids),
            message=t.message,
            error=t.error,
            started_at=t.started_at,
            finished_at=t.finished_at,
        )

"""The JSON shapes of records: a coupling, a record's values, a record's status and a page of records."""

from __future__ import annotations

from pydantic import Field

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.records import Record
from coupler.entrypoints.schemas.base import Out, Time, Value
from coupler.entrypoints.schemas.jobs import JobErrorOut
from coupler.entrypoints.schemas.mappings import CountsOut
from coupler.services.views.browse import BrowsePage, BrowseRow, RecordFilter
from coupler.services.views.queries import RecordStatus

__all__ = ["CouplingOut", "RecordOut", "RecordStatusOut", "RecordsPageOut", "RowOut"]


class CouplingOut(Out):
    mapping: str
    local_key: str
    integration_key: str
    coupled_at: Time
    last_synced_at: Time | None
    local_modified_on: Time | None = Field(description="The local record's modified-on when last synchronized.")
    integration_modified_on: Time | None
    to_integration_result: SyncResult | None = Field(description="How the last write to the integration side went.")
    to_integration_job: str | None = Field(description="The job of that write.")
    from_integration_result: SyncResult | None
    from_integration_job: str | None
    last_error: str | None
    failure_count: int
    skipped: bool

    @classmethod
    def of(cls, coupling: Coupling) -> CouplingOut:
        return cls.model_validate(coupling)


class RecordOut(Out):
    key: str
    modified_on: Time | None
    values: dict[str, Value] = Field(description="The columns coupler reads: key, modified-on, display key, mapped.")

    @classmethod
    def of(cls, record: Record | None) -> RecordOut | None:
        if record is None:
            return None
        return cls(key=record.key, modified_on=record.modified_on, values=dict(record.values))


class RecordStatusOut(Out):
    mapping: str
    ref: str
    coupled: bool
    coupling: CouplingOut | None
    local: RecordOut | None = Field(description="Null when the local record does not exist (any more).")
    integration: RecordOut | None
    errors: list[JobErrorOut] = Field(description="Recent errors that name the record.")

    @classmethod
    def of(cls, status: RecordStatus) -> RecordStatusOut:
        return cls(
            mapping=status.mapping,
            ref=status.ref,
            coupled=status.coupling is not None,
            coupling=CouplingOut.of(status.coupling) if status.coupling else None,
            local=RecordOut.of(status.local),
            integration=RecordOut.of(status.integration),
            errors=[JobErrorOut.of(e) for e in status.errors],
        )


class RowOut(Out):
    key: str
    display: str | None
    name: Value = None
    coupled: bool
    integration_key: str | None
    last_synced_at: Time | None
    result: SyncResult | None
    skipped: bool
    in_conflict: bool
    last_error: str | None
    values: dict[str, Value] | None

    @classmethod
    def of(cls, row: BrowseRow) -> RowOut:
        return cls(
            key=row.key,
            display=row.display,
            name=row.name,
            coupled=row.coupled,
            integration_key=row.integration_key,
            last_synced_at=row.last_synced_at,
            result=row.result,
            skipped=row.skipped,
            in_conflict=row.in_conflict,
            last_error=row.last_error,
            values=dict(row.record.values) if row.record else None,
        )


class RecordsPageOut(Out):
    mapping: str
    filter: RecordFilter
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
            filter=page.filter,
            search=page.search,
            rows=[RowOut.of(r) for r in page.rows],
            next_after=page.next_after,
            total=page.total,
            counts=CountsOut.of(page.stats),
            fields=list(page.fields),
        )

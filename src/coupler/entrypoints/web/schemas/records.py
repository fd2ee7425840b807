"""The JSON shapes of the REST API's records: coupling, creating and synchronizing them, their pages and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coupler.domain.coupling import Coupling
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import Record
from coupler.entrypoints.web.schemas.common import CountsOut, Ref, RefsIn, StrictIn
from coupler.entrypoints.web.schemas.jobs import JobErrorOut
from coupler.services.views.browse import BrowsePage, BrowseRow
from coupler.services.views.queries import RecordStatus

__all__ = [
    "CoupleIn",
    "CouplingOut",
    "CreateIn",
    "RecordOut",
    "RecordStatusOut",
    "RecordsPageOut",
    "RowOut",
    "SyncIn",
]


class CoupleIn(StrictIn):
    local: Ref = Field(description="The local record: primary key or display key (e.g. the customer number).")
    integration: Ref = Field(description="The integration record: primary key or display key.")
    sync_after: Side | None = Field(None, description="Synchronize right after, using this side's data.")


class CreateIn(StrictIn):
    ref: Ref = Field(description="The record to create the counterpart of (its key or display key).")
    source: Side = Field(Side.LOCAL, description="The side that record is on.")


class SyncIn(RefsIn):
    direction: Direction | None = Field(
        None, description="Force a direction; by default the change rules decide (Synchronize now)."
    )


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

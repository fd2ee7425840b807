"""The JSON REST API under /api: every action of the pages, for scripts (OpenAPI schema at /openapi.json).

Routes only translate: they validate the input (pydantic), call the Coupler (or the pages' queries) and shape its
answer. Errors go through ``api_errors`` (unknown mapping or record: 404; refused: 409/422; systems unreachable: 503).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from coupler.entrypoints.schemas.jobs import JobReportOut
from coupler.entrypoints.schemas.mappings import MappingDetailOut, MappingOut, RecommendationOut
from coupler.entrypoints.schemas.records import RecordsPageOut, RecordStatusOut
from coupler.entrypoints.web.api import attention as api_attention
from coupler.entrypoints.web.api import card as api_card
from coupler.entrypoints.web.api import mapping_edit as api_mapping_edit
from coupler.entrypoints.web.api import switch as api_switch
from coupler.entrypoints.web.api import tasks as api_tasks
from coupler.entrypoints.web.deps import CouplerDep, QueriesDep, StateDep
from coupler.entrypoints.web.errors import ErrorBody
from coupler.entrypoints.web.schemas.common import ConnectionOut, RefsIn
from coupler.entrypoints.web.schemas.records import CoupleIn, CreateIn, SyncIn
from coupler.services.views.browse import MAX_LIMIT, RecordFilter

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (404, "Unknown mapping or record"),
        (409, "Refused in the current state (already coupled, busy...)"),
        (422, "The input is not valid"),
        (503, "A system cannot be reached"),
    )
}

router = APIRouter(responses=_ERRORS)
router.include_router(api_attention.router)
router.include_router(api_tasks.router)
router.include_router(api_card.router)
router.include_router(api_switch.router)
router.include_router(api_mapping_edit.router)

MappingName = Annotated[str, Path(min_length=1, max_length=100, description="The table mapping, e.g. CUSTOMER.")]
RecordRef = Annotated[str, Path(min_length=1, max_length=250, description="A key or display key of either side.")]


# connection and mappings -------------------------------------------------------------------------------------
@router.get("/connection", response_model=ConnectionOut, tags=["connection"])
def connection(state: StateDep) -> ConnectionOut:
    """Whether both systems and the state store answer and every mapped table and column exists."""
    result = state.connection()
    return ConnectionOut(ok=result.ok, problems=result.problems)


@router.get("/mappings", response_model=list[MappingOut], tags=["mappings"])
def mappings(coupler: CouplerDep) -> list[MappingOut]:
    """The table mappings in dependency order, with their counts of couplings, errors, skipped and conflicts."""
    return [MappingOut.of(m) for m in coupler.mappings()]


@router.get("/mappings/{mapping}", response_model=MappingDetailOut, tags=["mappings"])
def mapping(mapping: MappingName, coupler: CouplerDep) -> MappingDetailOut:
    """One table mapping with its field mappings."""
    name = coupler.systems.mapping(mapping).name
    overview = next(m for m in coupler.mappings() if m.name == name)
    return MappingDetailOut.of(overview)


@router.get("/review", response_model=list[RecommendationOut], tags=["mappings"])
def review(queries: QueriesDep) -> list[RecommendationOut]:
    """Per mapping, what to run first: a full synchronization, match-based coupling, or nothing."""
    return [RecommendationOut.of(r) for r in queries.review()]


@router.get("/mappings/{mapping}/review", response_model=RecommendationOut, tags=["mappings"])
def review_mapping(mapping: MappingName, queries: QueriesDep) -> RecommendationOut:
    return RecommendationOut.of(queries.review(mapping)[0])


# records -----------------------------------------------------------------------------------------------------
@router.get("/mappings/{mapping}/records", response_model=RecordsPageOut, tags=["records"])
def records(
    mapping: MappingName,
    queries: QueriesDep,
    search: Annotated[str | None, Query(max_length=100, description="Display key prefix or name text.")] = None,
    filter: Annotated[RecordFilter, Query(description="Which records by coupling state.")] = RecordFilter.ALL,
    after: Annotated[str | None, Query(max_length=250, description="The previous page's `next_after`.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> RecordsPageOut:
    """A page of the mapping's local records with their coupling state (keyset paging on the local key)."""
    page = queries.browse(mapping, search=search, filter=filter, after=after, limit=limit)
    return RecordsPageOut.of(page)


@router.get("/mappings/{mapping}/records/{ref}", response_model=RecordStatusOut, tags=["records"])
def record_status(mapping: MappingName, ref: RecordRef, coupler: CouplerDep) -> RecordStatusOut:
    """One record's coupling, both records' values and its latest errors."""
    return RecordStatusOut.of(coupler.status(mapping, ref))


@router.post("/mappings/{mapping}/couple", response_model=JobReportOut, tags=["records"])
def couple(mapping: MappingName, body: CoupleIn, coupler: CouplerDep) -> JobReportOut:
    """Set up coupling: couple two existing records, optionally synchronizing with one side's data after."""
    return JobReportOut.of(coupler.couple(mapping, body.local, body.integration, sync_after=body.sync_after))


@router.post("/mappings/{mapping}/create", response_model=JobReportOut, tags=["records"])
def create(mapping: MappingName, body: CreateIn, coupler: CouplerDep) -> JobReportOut:
    """Create and couple: create the counterpart of a record from the mapped fields and couple the two."""
    return JobReportOut.of(coupler.create(mapping, body.ref, source=body.source))


@router.post("/mappings/{mapping}/decouple", response_model=JobReportOut, tags=["records"])
def decouple(mapping: MappingName, body: RefsIn, coupler: CouplerDep) -> JobReportOut:
    """Remove the couplings of these records; the records stay as they are."""
    return JobReportOut.of(coupler.decouple(mapping, body.refs))


@router.post("/mappings/{mapping}/sync", response_model=JobReportOut, tags=["synchronization"])
def sync(mapping: MappingName, body: SyncIn, coupler: CouplerDep) -> JobReportOut:
    """Synchronize now: these coupled records, by the change rules or forced in ``direction``. Larger selections:
    POST /api/tasks/sync."""
    return JobReportOut.of(coupler.sync(mapping, body.refs, direction=body.direction))

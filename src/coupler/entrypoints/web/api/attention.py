"""The API's log and what needs attention: jobs, errors, skipped records, conflicts, pending deletions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from coupler.domain.errors import RecordNotFound, UsageError
from coupler.entrypoints.schemas.attention import ConflictOut, DeletionOut, SkippedOut
from coupler.entrypoints.schemas.jobs import JobErrorOut, JobOut, JobReportOut
from coupler.entrypoints.web.deps import CouplerDep
from coupler.entrypoints.web.schemas.attention import ResolveIn, SelectionIn
from coupler.entrypoints.web.schemas.common import DeletedOut, RefsIn
from coupler.services.engine.recorder import JobReport

__all__ = ["router"]

router = APIRouter()

MappingName = Annotated[str, Path(min_length=1, max_length=100, description="The table mapping, e.g. CUSTOMER.")]
RecordRef = Annotated[str, Path(min_length=1, max_length=250, description="A key or display key of either side.")]
MappingFilter = Annotated[str | None, Query(min_length=1, max_length=100, description="Only this mapping.")]
Limit = Annotated[int, Query(ge=1, le=1000)]


# jobs and errors ---------------------------------------------------------------------------------------------
@router.get("/jobs", response_model=list[JobOut], tags=["log"])
def jobs(coupler: CouplerDep, mapping: MappingFilter = None, limit: Limit = 20) -> list[JobOut]:
    """The synchronization log, most recent first, with counters and duration."""
    return [JobOut.of(j) for j in coupler.jobs(limit=limit, mapping=mapping)]


@router.get("/jobs/{job_id}", response_model=JobReportOut, tags=["log"])
def job(job_id: Annotated[str, Path(min_length=1, max_length=64)], coupler: CouplerDep) -> JobReportOut:
    """One job with its errors (the first 500)."""
    found = coupler.systems.store.jobs.get(job_id)
    if found is None:
        raise RecordNotFound(f"No job has the id {job_id!r}; GET /api/jobs lists them.")
    return JobReportOut.of(JobReport(job=found, errors=tuple(coupler.errors(job_id, limit=500))))


@router.get("/errors", response_model=list[JobErrorOut], tags=["log"])
def errors(
    coupler: CouplerDep,
    job_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    mapping: MappingFilter = None,
    limit: Limit = 100,
) -> list[JobErrorOut]:
    """Per-record errors, most recent first, each with both keys, the message, the detail and the time."""
    return [JobErrorOut.of(e) for e in coupler.errors(job_id, mapping=mapping, limit=limit)]


@router.delete("/errors", response_model=DeletedOut, tags=["log"])
def delete_errors(
    coupler: CouplerDep,
    older_than_days: Annotated[int, Query(ge=0, le=36500, description="Delete entries older than this.")],
    mapping: MappingFilter = None,
) -> DeletedOut:
    """Delete the error entries older than N days (of one mapping, or all)."""
    return DeletedOut(deleted=coupler.delete_errors(older_than_days=older_than_days, mapping=mapping))


# skipped records ---------------------------------------------------------------------------------------------
@router.get("/skipped", response_model=list[SkippedOut], tags=["attention"])
def skipped(coupler: CouplerDep, mapping: MappingFilter = None) -> list[SkippedOut]:
    """Records skipped after failing twice with the same error, with whether each side still exists."""
    return [SkippedOut.of(s) for s in coupler.skipped(mapping)]


@router.post("/mappings/{mapping}/retry", response_model=JobReportOut, tags=["attention"])
def retry(mapping: MappingName, body: SelectionIn, coupler: CouplerDep) -> JobReportOut:
    """Retry skipped records: those named, or ``all``."""
    _one_of(body)
    return JobReportOut.of(coupler.retry(mapping, body.refs, everything=body.all))


@router.post("/mappings/{mapping}/restore", response_model=JobReportOut, tags=["attention"])
def restore(mapping: MappingName, body: RefsIn, coupler: CouplerDep) -> JobReportOut:
    """Re-create the deleted partner of these skipped records from the record that remains, and re-couple."""
    return JobReportOut.of(coupler.restore(mapping, body.refs))


# conflicts ---------------------------------------------------------------------------------------------------
@router.get("/conflicts", response_model=list[ConflictOut], tags=["attention"])
def conflicts(coupler: CouplerDep, mapping: MappingFilter = None, limit: Limit = 100) -> list[ConflictOut]:
    """Parked conflicts: per field, both values and the last synchronized ones."""
    return [ConflictOut.of(c) for c in coupler.conflicts(mapping, limit=limit)]


@router.post("/mappings/{mapping}/conflicts/{ref}/resolve", response_model=JobReportOut, tags=["attention"])
def resolve(mapping: MappingName, ref: RecordRef, body: ResolveIn, coupler: CouplerDep) -> JobReportOut:
    """Settle a parked conflict: ``use``'s values win, for every conflicting field or only ``fields``."""
    return JobReportOut.of(coupler.resolve(mapping, ref, use=body.use, fields=body.fields))


# pending deletions -------------------------------------------------------------------------------------------
@router.get("/deletions", response_model=list[DeletionOut], tags=["attention"])
def deletions(coupler: CouplerDep, mapping: MappingFilter = None) -> list[DeletionOut]:
    """Deletions waiting for approval (mappings with delete = "propagate")."""
    return [DeletionOut.of(d) for d in coupler.deletions(mapping)]


@router.post("/mappings/{mapping}/deletions/approve", response_model=JobReportOut, tags=["attention"])
def approve(mapping: MappingName, body: SelectionIn, coupler: CouplerDep) -> JobReportOut:
    """Approve pending deletions: those of the records named, or ``all``."""
    _one_of(body)
    return JobReportOut.of(coupler.approve(mapping, body.refs, everything=body.all))


def _one_of(body: SelectionIn) -> None:
    if bool(body.refs) == body.all:
        raise UsageError("Name the records in `refs` or set `all` to true (one of the two).")

"""Conversions between database rows and coupler's values, written for speed (one call per row, no reflection)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.jobs import Counters, Job, JobError, JobKind

__all__ = [
    "COUPLING_FIELDS",
    "ERROR_FIELDS",
    "JOB_FIELDS",
    "coupling_from_row",
    "coupling_values",
    "error_from_row",
    "error_values",
    "job_from_row",
    "job_values",
]

COUPLING_FIELDS = (
    "mapping",
    "local_key",
    "integration_key",
    "coupled_at",
    "local_modified_on",
    "integration_modified_on",
    "last_synced_at",
    "to_integration_result",
    "to_integration_job",
    "from_integration_result",
    "from_integration_job",
    "last_error",
    "failure_count",
    "skipped",
    "fingerprint",
)
"""The coupling columns, in the order ``coupling_from_row`` reads them."""

JOB_FIELDS = ("id", "mapping", "kind", "direction", "started_at", "finished_at", *Counters().as_dict(), "message")

ERROR_FIELDS = ("id", "job_id", "mapping", "local_key", "integration_key", "message", "detail", "at")

_RESULTS: dict[str | None, SyncResult | None] = {None: None, **{r.value: r for r in SyncResult}}
_TEXTS: dict[SyncResult | None, str | None] = {None: None, **{r: r.value for r in SyncResult}}
_KINDS: dict[str, JobKind] = {k.value: k for k in JobKind}


def coupling_from_row(row: Sequence[Any]) -> Coupling:
    (
        mapping,
        local_key,
        integration_key,
        coupled_at,
        local_modified_on,
        integration_modified_on,
        last_synced_at,
        to_result,
        to_job,
        from_result,
        from_job,
        last_error,
        failure_count,
        skipped,
        fingerprint,
    ) = row
    return Coupling(
        mapping=mapping,
        local_key=local_key,
        integration_key=integration_key,
        coupled_at=coupled_at,
        local_modified_on=local_modified_on,
        integration_modified_on=integration_modified_on,
        last_synced_at=last_synced_at,
        to_integration_result=_RESULTS[to_result],
        to_integration_job=to_job,
        from_integration_result=_RESULTS[from_result],
        from_integration_job=from_job,
        last_error=last_error,
        failure_count=failure_count,
        skipped=bool(skipped),
        fingerprint=fingerprint,
    )


def coupling_values(c: Coupling) -> dict[str, Any]:
    """Bind values for every coupling column."""
    return {
        "mapping": c.mapping,
        "local_key": c.local_key,
        "integration_key": c.integration_key,
        "coupled_at": c.coupled_at,
        "local_modified_on": c.local_modified_on,
        "integration_modified_on": c.integration_modified_on,
        "last_synced_at": c.last_synced_at,
        "to_integration_result": _TEXTS[c.to_integration_result],
        "to_integration_job": c.to_integration_job,
        "from_integration_result": _TEXTS[c.from_integration_result],
        "from_integration_job": c.from_integration_job,
        "last_error": c.last_error,
        "failure_count": c.failure_count,
        "skipped": c.skipped,
        "fingerprint": c.fingerprint,
    }


def job_from_row(row: Sequence[Any]) -> Job:
    (
        job_id,
        mapping,
        kind,
        direction,
        started_at,
        finished_at,
        inserted,
        modified,
        deleted,
        unchanged,
        skipped,
        failed,
        coupled,
        uncoupled,
        conflicts,
        unmatched,
        message,
    ) = row
    counters = Counters(
        inserted=inserted,
        modified=modified,
        deleted=deleted,
        unchanged=unchanged,
        skipped=skipped,
        failed=failed,
        coupled=coupled,
        uncoupled=uncoupled,
        conflicts=conflicts,
        unmatched=unmatched,
    )
    return Job(
        id=job_id,
        mapping=mapping,
        kind=_KINDS[kind],
        direction=direction,
        started_at=started_at,
        finished_at=finished_at,
        counters=counters,
        message=message,
    )


def job_values(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "mapping": job.mapping,
        "kind": job.kind.value,
        "direction": str(job.direction),
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        **job.counters.as_dict(),
        "message": job.message,
    }


def error_from_row(row: Sequence[Any]) -> JobError:
    error_id, job_id, mapping, local_key, integration_key, message, detail, at = row
    return JobError(
        id=error_id,
        job_id=job_id,
        mapping=mapping,
        local_key=local_key,
        integration_key=integration_key,
        message=message,
        detail=detail,
        at=at,
    )


def error_values(error: JobError) -> dict[str, Any]:
    return {
        "job_id": error.job_id,
        "mapping": error.mapping,
        "local_key": error.local_key,
        "integration_key": error.integration_key,
        "message": error.message,
        "detail": error.detail,
        "at": error.at,
    }

"""The JSON shapes of the REST API's jobs and the errors they logged."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from coupler.domain.jobs import Job, JobError
from coupler.entrypoints.web.tasks import summarize
from coupler.services.engine.recorder import JobReport

__all__ = ["JobErrorOut", "JobOut", "JobReportOut"]


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

"""The JSON shapes of jobs: a job with its counters, the errors it logged, a job report, and `coupler run`'s rounds."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from coupler.domain.jobs import Counters, Job, JobError, JobKind
from coupler.entrypoints.schemas.base import Out, Time
from coupler.services.engine.recorder import JobReport
from coupler.services.engine.schedule import MappingRun, Outcome, Round

__all__ = ["CountersOut", "JobErrorOut", "JobOut", "JobReportOut", "MappingRunOut", "RoundOut", "summarize"]

# what a summary names, in this order: (counter, words)
_SUMMARY = (
    ("coupled", "coupled"),
    ("inserted", "created"),
    ("modified", "synchronized"),
    ("unchanged", "unchanged"),
    ("deleted", "deleted"),
    ("uncoupled", "decoupled"),
    ("unmatched", "unmatched"),
    ("skipped", "skipped"),
    ("conflicts", "in conflict"),
    ("failed", "failed"),
)


def summarize(reports: Sequence[JobReport]) -> str:
    """'12 synchronized, 1 failed' over every report's counters ('nothing to do' when all are zero)."""
    total = Counters()
    for report in reports:
        total.add(report.job.counters)
    counts = total.as_dict()
    parts = [f"{counts[name]} {words}" for name, words in _SUMMARY if counts[name]]
    return ", ".join(parts) if parts else "nothing to do"


class CountersOut(Out):
    inserted: int
    modified: int
    deleted: int
    unchanged: int
    skipped: int
    failed: int
    coupled: int
    uncoupled: int
    conflicts: int
    unmatched: int


class JobOut(Out):
    id: str
    mapping: str
    kind: JobKind
    direction: str = Field(description="The mapping's direction, the forced direction, or '-'.")
    started_at: Time
    finished_at: Time | None = Field(description="Null while running, or when a system failure cut the job.")
    duration_seconds: float | None
    counters: CountersOut
    message: str | None = Field(description="The job's summary and the notices it gave, or null.")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls.model_validate(job)


class JobErrorOut(Out):
    id: int | None
    job_id: str
    mapping: str
    local_key: str | None
    integration_key: str | None
    message: str
    detail: str | None
    at: Time

    @classmethod
    def of(cls, error: JobError) -> JobErrorOut:
        return cls.model_validate(error)


class JobReportOut(Out):
    ok: bool = Field(description="Nothing failed, no conflict was parked, every record to match was matched.")
    summary: str = Field(description="The counters in words, e.g. '12 synchronized, 1 failed'.")
    job: JobOut
    errors: list[JobErrorOut] = Field(description="The job's per-record errors (the first few hundred).")

    @classmethod
    def of(cls, report: JobReport) -> JobReportOut:
        return cls(
            ok=report.ok,
            summary=summarize([report]),
            job=JobOut.of(report.job),
            errors=[JobErrorOut.of(e) for e in report.errors],
        )


class MappingRunOut(Out):
    mapping: str
    outcome: Outcome
    message: str | None = Field(description="Why the mapping was busy, failed or stopped.")
    report: JobReportOut | None = Field(
        description="The job: finished, or closed half-way (failed, stopped); null when the mapping was busy."
    )

    @classmethod
    def of(cls, run: MappingRun) -> MappingRunOut:
        report = JobReportOut.of(run.report) if run.report is not None else None
        return cls(mapping=run.mapping, outcome=run.outcome, message=run.message, report=report)


class RoundOut(Out):
    round: int
    started_at: Time
    finished_at: Time
    stopped: bool = Field(description="A stop was requested during the round.")
    mappings: list[MappingRunOut]

    @classmethod
    def of(cls, done: Round) -> RoundOut:
        return cls(
            round=done.number,
            started_at=done.started_at,
            finished_at=done.finished_at,
            stopped=done.stopped,
            mappings=[MappingRunOut.of(run) for run in done.runs],
        )

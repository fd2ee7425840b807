"""The telemetry port: what the services tell about the jobs they run, for whoever measures them (Prometheus
metrics in ``adapters/metrics``). The default tells no one: a process that exposes no metrics pays nothing."""

from __future__ import annotations

from enum import StrEnum

from coupler.domain.jobs import Job

__all__ = ["JobOutcome", "Telemetry"]


class JobOutcome(StrEnum):
    """How a job ended: every record went through (``ok``), some records failed, are parked as conflicts or were
    left unmatched (``errors``), or the job stopped before the end (``stopped``: a system gone, a lock lost, a
    stop asked for)."""

    OK = "ok"
    ERRORS = "errors"
    STOPPED = "stopped"

    @classmethod
    def of(cls, job: Job, *, stopped: bool = False) -> JobOutcome:
        if stopped:
            return cls.STOPPED
        counters = job.counters
        return cls.OK if counters.failed == 0 and counters.conflicts == 0 and counters.unmatched == 0 else cls.ERRORS


class Telemetry:
    """Told of every job's start, progress (its counters so far, once per saved chunk) and end. Implementations
    must be quick and thread-safe, and never raise: a job does not fail for its measurements."""

    def job_started(self, job: Job) -> None:
        """``job`` has started (its lock on the mapping is taken)."""

    def job_progress(self, job: Job) -> None:
        """``job``'s counters so far (cumulative), saved with a chunk of records."""

    def job_finished(self, job: Job, outcome: JobOutcome) -> None:
        """``job`` has ended (``finished_at`` set, its final counters), with ``outcome``."""

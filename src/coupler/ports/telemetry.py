"""The telemetry port: what the services tell about the jobs they run, and `coupler serve` about the notifications it
receives, for whoever measures them (Prometheus metrics in ``adapters/metrics``). The default tells no one: a process
that exposes no metrics pays nothing."""

from __future__ import annotations

from enum import StrEnum

from coupler.domain.jobs import Job

__all__ = ["JobOutcome", "NotificationOutcome", "Telemetry"]


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


class NotificationOutcome(StrEnum):
    """What became of a request on a webhook route: its changes taken (``taken``), refused for not carrying the
    secret or replaying an old notification (``forged``), refused for being no notification or too large
    (``malformed``), or answered 503 because the system could not be asked (``unavailable``: the service sends it
    again)."""

    TAKEN = "taken"
    FORGED = "forged"
    MALFORMED = "malformed"
    UNAVAILABLE = "unavailable"


class Telemetry:
    """Told of every job's start, progress (its counters so far, once per saved chunk) and end. Implementations
    must be quick and thread-safe, and never raise: a job does not fail for its measurements."""

    def job_started(self, job: Job) -> None:
        """``job`` has started (its lock on the mapping is taken)."""

    def job_progress(self, job: Job) -> None:
        """``job``'s counters so far (cumulative), saved with a chunk of records."""

    def job_finished(self, job: Job, outcome: JobOutcome) -> None:
        """``job`` has ended (``finished_at`` set, its final counters), with ``outcome``."""

    def receiving_notifications(self, systems: tuple[str, ...]) -> None:
        """The process receives the notifications of ``systems`` (their names): their counts start at zero."""

    def notification_received(self, system: str, outcome: NotificationOutcome) -> None:
        """A request came on the webhook route of ``system`` (its name) and ended with ``outcome``."""

    def notified_sync_started(self, system: str, mapping: str) -> None:
        """A targeted synchronization of ``mapping`` was started (or queued) for what ``system`` notified."""

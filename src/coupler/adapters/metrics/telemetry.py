"""The metrics a process counts as it works: jobs by mapping, kind and outcome, their durations, the records they
counted, the jobs running, the requests to the systems and the waits their throttling imposed, and the notifications
received on the webhook routes and the synchronizations they started."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from coupler.adapters.connectors.http_events import observe_http
from coupler.domain.jobs import Counters, Job
from coupler.ports.telemetry import JobOutcome, NotificationOutcome, Telemetry

__all__ = ["PrometheusTelemetry"]

_JOB_SECONDS = (1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600)
_REQUEST_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


class PrometheusTelemetry(Telemetry):
    """Counts into ``registry``; from creation until ``close`` it also counts every HTTP request of the process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.jobs = Counter(
            "coupler_jobs",
            "Jobs finished, by mapping, kind and outcome.",
            ["mapping", "kind", "outcome"],
            registry=registry,
        )
        self.job_seconds = Histogram(
            "coupler_job_duration_seconds",
            "How long finished jobs took, by mapping and kind.",
            ["mapping", "kind"],
            buckets=_JOB_SECONDS,
            registry=registry,
        )
        self.last_finished = Gauge(
            "coupler_job_last_finished_timestamp_seconds",
            "When the last job of the mapping and kind ended with the outcome (Unix time).",
            ["mapping", "kind", "outcome"],
            registry=registry,
        )
        self.running = Gauge(
            "coupler_jobs_running",
            "Jobs running in this process, by mapping and kind.",
            ["mapping", "kind"],
            registry=registry,
        )
        self.records = Counter(
            "coupler_records",
            "Records counted by jobs, by mapping and counter.",
            ["mapping", "counter"],
            registry=registry,
        )
        self.requests = Counter(
            "coupler_http_requests",
            "Requests sent to the systems, by system, method and status ('none': no answer).",
            ["system", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "coupler_http_request_duration_seconds",
            "How long the systems took to answer, by system and method.",
            ["system", "method"],
            buckets=_REQUEST_SECONDS,
            registry=registry,
        )
        self.throttles = Counter(
            "coupler_http_throttled", "429 answers (throttling), by system.", ["system"], registry=registry
        )
        self.throttle_seconds = Counter(
            "coupler_http_throttle_wait_seconds",
            "Seconds every request to the system was held back by 429 answers (their Retry-After).",
            ["system"],
            registry=registry,
        )
        self.notifications = Counter(
            "coupler_notifications",
            "Requests on the webhook routes, by the system they came for and outcome (taken, forged, malformed,"
            " unavailable).",
            ["system", "outcome"],
            registry=registry,
        )
        self.notified_syncs = Counter(
            "coupler_notified_synchronizations",
            "Targeted synchronizations started (or queued) for notified changes, by system and mapping.",
            ["system", "mapping"],
            registry=registry,
        )
        self._seen: dict[str, Counters] = {}  # each running job's counters as last counted
        self._lock = threading.Lock()
        self._stop = observe_http(self)

    def close(self) -> None:
        """Stop counting the process's HTTP requests."""
        self._stop()

    # jobs ---------------------------------------------------------------------------------------------------
    def job_started(self, job: Job) -> None:
        with self._lock:
            self._seen[job.id] = Counters()
        self.running.labels(job.mapping, job.kind.value).inc()

    def job_progress(self, job: Job) -> None:
        self._count(job, keep=True)

    def job_finished(self, job: Job, outcome: JobOutcome) -> None:
        self._count(job, keep=False)
        labels = (job.mapping, job.kind.value)
        self.running.labels(*labels).dec()
        self.jobs.labels(*labels, outcome.value).inc()
        if job.duration_seconds is not None:
            self.job_seconds.labels(*labels).observe(max(0.0, job.duration_seconds))
        if job.finished_at is not None:
            self.last_finished.labels(*labels, outcome.value).set(job.finished_at.timestamp())

    def _count(self, job: Job, *, keep: bool) -> None:
        """Add what the job counted since it was last seen to ``coupler_records_total``."""
        with self._lock:
            before = self._seen.get(job.id, Counters())
            if keep:
                self._seen[job.id] = job.counters.copy()
            else:
                self._seen.pop(job.id, None)
        now = job.counters.as_dict()
        for counter, value in before.as_dict().items():
            if (added := now[counter] - value) > 0:
                self.records.labels(job.mapping, counter).inc(added)

    # requests -----------------------------------------------------------------------------------------------
    def request_done(self, system: str, method: str, status: int | None, seconds: float) -> None:
        self.requests.labels(system, method, str(status) if status is not None else "none").inc()
        self.request_seconds.labels(system, method).observe(seconds)

    def throttled(self, system: str, seconds: float) -> None:
        self.throttles.labels(system).inc()
        self.throttle_seconds.labels(system).inc(seconds)

    # notifications ------------------------------------------------------------------------------------------
    def receiving_notifications(self, systems: tuple[str, ...]) -> None:
        for system in systems:  # every series exists from the start: increase() sees the first one counted
            for outcome in NotificationOutcome:
                self.notifications.labels(system, outcome.value)

    def notification_received(self, system: str, outcome: NotificationOutcome) -> None:
        self.notifications.labels(system, outcome.value).inc()

    def notified_sync_started(self, system: str, mapping: str) -> None:
        self.notified_syncs.labels(system, mapping).inc()

"""One app's (or worker's) metrics: its own registry (so that two apps in one process, as in tests, count apart),
the telemetry its jobs report to, the state store's collector (and the job queue's), and the text a scrape
returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from coupler.adapters.metrics.collector import StateCollector
from coupler.adapters.metrics.telemetry import PrometheusTelemetry
from coupler.services.context import Systems

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of ``Metrics.scrape``'s text (Prometheus' text exposition format)."""


class Metrics:
    """``telemetry`` goes to the Coupler(s) whose jobs are counted; ``source`` gives the Systems whose state store
    the gauges read (None while not connected)."""

    def __init__(
        self, source: Callable[[], Systems | None], *, queue: str | None = None, connections: Sequence[str] = ()
    ) -> None:
        """``queue``: the libpq connection string of the job queue's database, whose gauges are added for the
        ``connections`` (their names in ``[queue]``) and any other found in the queue."""
        self.registry = CollectorRegistry()
        self.telemetry = PrometheusTelemetry(self.registry)
        self.registry.register(StateCollector(source))
        if queue is not None:
            from coupler.adapters.metrics.queue import QueueCollector  # psycopg: only where a queue is configured

            self.registry.register(QueueCollector(queue, connections))

    def scrape(self) -> bytes:
        """Every metric, in Prometheus' text format."""
        return generate_latest(self.registry)

    def close(self) -> None:
        self.telemetry.close()

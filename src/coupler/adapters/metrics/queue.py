"""The job queue's gauges, read from procrastinate's tables at each scrape (so every worker and ``coupler serve``
report the same): jobs waiting, running and failed per connection, and how long the oldest waiting job has waited.

One short connection per scrape, two small queries over the unfinished (and failed) jobs; when the database does not
answer, ``coupler_queue_up`` is 0 and the rest is left out."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["QueueCollector"]

log = logging.getLogger(__name__)

STATUSES = ("todo", "doing", "failed")
"""``coupler_queue_jobs``' ``status`` label: waiting, running, and failed (kept in the queue until removed by hand:
their number grows with each job that fails)."""

_COUNTS = (
    "SELECT coalesce(args->>'connection', '') AS connection, status::text AS status, count(*) AS jobs "
    "FROM procrastinate_jobs WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1, 2"
)
_OLDEST = (
    "SELECT coalesce(j.args->>'connection', '') AS connection, "
    "extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at))) AS waited "
    "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
    "WHERE j.status = 'todo' AND coalesce(j.scheduled_at, e.at) <= now() GROUP BY 1"
)


class QueueCollector(Collector):
    """Reads the queue in the PostgreSQL database ``conninfo`` names (libpq's connection string); the
    ``connections`` served here are reported even when none of their jobs is in the queue (as 0)."""

    def __init__(self, conninfo: str, connections: Sequence[str] = (), *, timeout_seconds: int = 5) -> None:
        self._conninfo = conninfo
        self._connections = tuple(connections)
        self._timeout = timeout_seconds

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at each scrape only: registering must not touch the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("coupler_queue_up", "Whether the job queue's database answered this scrape (1) or not.")
        try:
            with psycopg.connect(self._conninfo, connect_timeout=self._timeout, autocommit=True) as database:
                counts = database.execute(_COUNTS).fetchall()
                oldest = database.execute(_OLDEST).fetchall()
        except psycopg.Error as error:
            log.warning("metrics: the job queue's database does not answer: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            "coupler_queue_jobs",
            "Jobs in the queue, by connection and status (todo: waiting; doing: running; failed: kept until removed).",
            labels=["connection", "status"],
        )
        jobs_by = {(connection, status): jobs for connection, status, jobs in counts}
        known = sorted({c for c, _ in jobs_by} | set(self._connections))
        for connection in known:
            for status in STATUSES:
                depth.add_metric([connection, status], jobs_by.get((connection, status), 0))
        yield depth
        waited = GaugeMetricFamily(
            "coupler_queue_oldest_waiting_seconds",
            "How long the oldest job waiting to run has waited, by connection (0 when none waits).",
            labels=["connection"],
        )
        waiting = {connection: float(seconds) for connection, seconds in oldest}
        for connection in sorted(set(known) | set(waiting)):
            waited.add_metric([connection], max(0.0, waiting.get(connection, 0.0)))
        yield waited

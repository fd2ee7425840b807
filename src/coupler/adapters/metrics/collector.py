"""The gauges read from the state store at each scrape, so that they hold for every process sharing it: records
waiting per mapping (failed, skipped, conflicts, pending deletions), couplings, each watermark's lag, and the age of
the job running on each mapping. A handful of small queries per mapping (``StateStore.stats``, the watermarks, the
locks); when the store does not answer, ``coupler_state_store_up`` is 0 and the rest is left out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from coupler.domain.mapping import Side
from coupler.services.context import Systems
from coupler.services.lease import lock_name

__all__ = ["WAITING", "StateCollector"]

log = logging.getLogger(__name__)

WAITING = ("failed", "skipped", "conflicts", "pending_deletions")
"""The reasons a record waits for someone, as ``coupler_records_waiting``'s ``reason`` label says them."""


class StateCollector(Collector):
    """Reads the state store of the Systems ``source`` returns (None: not connected, nothing to read)."""

    def __init__(self, source: Callable[[], Systems | None]) -> None:
        self._source = source

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at each scrape only: registering must not touch the store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("coupler_state_store_up", "Whether the state store answered this scrape (1) or not (0).")
        try:
            systems = self._source()
            families = list(self._read(systems)) if systems is not None else []
        except Exception as error:  # the store is down (whatever its driver raises): say so, never fail the scrape
            log.warning("metrics: the state store does not answer: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1 if systems is not None else 0)
        yield up
        yield from families

    def _read(self, systems: Systems) -> Iterator[GaugeMetricFamily]:
        store, now = systems.store, systems.clock()
        names = {Side.LOCAL: systems.local.display_name, Side.INTEGRATION: systems.integration.display_name}
        couplings = GaugeMetricFamily("coupler_couplings", "Coupled records, by mapping.", labels=["mapping"])
        waiting = GaugeMetricFamily(
            "coupler_records_waiting",
            "Records waiting for attention, by mapping and reason (failed, skipped, conflicts, pending_deletions).",
            labels=["mapping", "reason"],
        )
        lag = GaugeMetricFamily(
            "coupler_watermark_lag_seconds",
            "Age of the newest change read from the system for the mapping (now minus its watermark).",
            labels=["mapping", "system"],
        )
        age = GaugeMetricFamily(
            "coupler_job_age_seconds",
            "How long the job running on the mapping has run (any process sharing the state store).",
            labels=["mapping"],
        )
        for mapping in systems.mappings:
            stats = store.stats(mapping.name)
            couplings.add_metric([mapping.name], stats.couplings)
            for reason in WAITING:
                waiting.add_metric([mapping.name, reason], getattr(stats, reason))
            for direction in mapping.direction.one_way:
                watermark = store.cursors.watermark(mapping.name, direction.source)
                if watermark is not None:
                    seconds = max(0.0, (now - watermark.stamp).total_seconds())
                    lag.add_metric([mapping.name, names[direction.source]], seconds)
        holders = {lock.name: lock for lock in store.cursors.locks() if not lock.expired(now)}
        for mapping in systems.mappings:
            lock = holders.get(lock_name(mapping.name))
            job = store.jobs.get(lock.owner) if lock is not None else None
            if job is not None and job.finished_at is None:
                age.add_metric([mapping.name], max(0.0, (now - job.started_at).total_seconds()))
        yield from (couplings, waiting, lag, age)

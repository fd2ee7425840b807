"""Prometheus metrics: the jobs, records and requests a process counts (``PrometheusTelemetry``) and the state
store's gauges read at each scrape (``StateCollector``), in one registry per app (``Metrics``)."""

from __future__ import annotations

from coupler.adapters.metrics.collector import StateCollector
from coupler.adapters.metrics.registry import Metrics
from coupler.adapters.metrics.telemetry import PrometheusTelemetry

__all__ = ["Metrics", "PrometheusTelemetry", "StateCollector"]

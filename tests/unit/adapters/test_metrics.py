"""The Prometheus adapter: what jobs and HTTP requests count, and the state store's gauges read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry

from coupler.adapters.connectors.http_client import BasicAuth, HttpClient
from coupler.adapters.metrics import Metrics, PrometheusTelemetry, StateCollector
from coupler.domain.errors import RetryableConnectorError
from coupler.domain.jobs import Counters, Job, JobKind
from coupler.domain.mapping import Side
from coupler.domain.records import ChangeCursor
from coupler.ports.store import CouplingStats
from coupler.ports.telemetry import JobOutcome
from coupler.services.lease import lock_name
from unit.services.conftest import World, customer_mapping, make_world

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def telemetry(registry: CollectorRegistry) -> Iterator[PrometheusTelemetry]:
    counting = PrometheusTelemetry(registry)
    yield counting
    counting.close()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def job(**counters: int) -> Job:
    return Job(id="j1", mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="bidirectional", started_at=NOW).finish(
        at=NOW + timedelta(seconds=42), counters=Counters(**counters)
    )


def test_a_job_counts_its_records_once_and_its_outcome(
    telemetry: PrometheusTelemetry, registry: CollectorRegistry
) -> None:
    started = Job(id="j1", mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="bidirectional", started_at=NOW)
    telemetry.job_started(started)
    assert value(registry, "coupler_jobs_running", mapping="CUSTOMER", kind="incremental") == 1
    telemetry.job_progress(job(inserted=2))
    telemetry.job_progress(job(inserted=3, failed=1))
    telemetry.job_finished(job(inserted=5, failed=1), JobOutcome.ERRORS)

    assert value(registry, "coupler_records_total", mapping="CUSTOMER", counter="inserted") == 5
    assert value(registry, "coupler_records_total", mapping="CUSTOMER", counter="failed") == 1
    assert value(registry, "coupler_records_total", mapping="CUSTOMER", counter="modified") is None
    labels = {"mapping": "CUSTOMER", "kind": "incremental"}
    assert value(registry, "coupler_jobs_total", **labels, outcome="errors") == 1
    assert value(registry, "coupler_jobs_running", **labels) == 0
    assert value(registry, "coupler_job_duration_seconds_sum", **labels) == 42
    last = value(registry, "coupler_job_last_finished_timestamp_seconds", **labels, outcome="errors")
    assert last == (NOW + timedelta(seconds=42)).timestamp()


def client(handler: httpx.MockTransport, **kw: object) -> HttpClient:
    return HttpClient(
        "https://bc.example/api",
        system="Business Central",
        auth=BasicAuth("admin", "web-service-key-123"),
        transport=handler,
        sleep=lambda _: None,
        **kw,  # type: ignore[arg-type]
    )


def test_requests_count_by_system_method_and_status_and_429s_as_throttling(
    telemetry: PrometheusTelemetry, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.01"}), httpx.Response(200, json={"value": []})])
    http = client(httpx.MockTransport(lambda request: next(answers)))
    with caplog.at_level(logging.DEBUG, logger="coupler"):
        http.get_json("customers", what="reading customers", params={"$filter": "number eq 'C00070'"})

    system = {"system": "Business Central"}
    assert value(registry, "coupler_http_requests_total", **system, method="GET", status="429") == 1
    assert value(registry, "coupler_http_requests_total", **system, method="GET", status="200") == 1
    assert value(registry, "coupler_http_request_duration_seconds_count", **system, method="GET") == 2
    assert value(registry, "coupler_http_throttled_total", **system) == 1
    assert value(registry, "coupler_http_throttle_wait_seconds_total", **system) == pytest.approx(0.01)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET customers -> 200" in logged and "429" in logged
    assert "C00070" not in logged and "web-service-key-123" not in logged and "Basic" not in logged


def test_a_request_without_an_answer_counts_as_status_none(
    telemetry: PrometheusTelemetry, registry: CollectorRegistry
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = client(httpx.MockTransport(refuse), max_attempts=2)
    with pytest.raises(RetryableConnectorError):
        http.request("GET", "customers", what="reading customers")
    assert value(registry, "coupler_http_requests_total", system="Business Central", method="GET", status="none") == 2


def test_a_closed_telemetry_counts_no_more_requests(registry: CollectorRegistry) -> None:
    counting = PrometheusTelemetry(registry)
    counting.close()
    client(httpx.MockTransport(lambda request: httpx.Response(200))).request("GET", "x", what="x")
    assert value(registry, "coupler_http_requests_total", system="Business Central", method="GET", status="200") is None


# the state store's gauges ------------------------------------------------------------------------------------
@pytest.fixture
def world() -> World:
    return make_world(customer_mapping(only_coupled=False))


def scrape(world: World) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StateCollector(lambda: world.coupler.systems))
    return registry


def test_the_collector_reads_waiting_records_and_watermark_lags(world: World) -> None:
    world.customer("C1")
    world.customer("C2", displayName="")  # fails: the CRM refuses an account without a name
    world.coupler.sync_modified()
    world.coupler.systems.clock = lambda: NOW
    world.store.cursors.set_watermark("CUSTOMER", Side.INTEGRATION, ChangeCursor(stamp=NOW - timedelta(minutes=5)))

    registry = scrape(world)
    stats: CouplingStats = world.store.stats("CUSTOMER")
    assert value(registry, "coupler_state_store_up") == 1
    assert value(registry, "coupler_couplings", mapping="CUSTOMER") == stats.couplings == 1
    for reason in ("failed", "skipped", "conflicts", "pending_deletions"):
        assert value(registry, "coupler_records_waiting", mapping="CUSTOMER", reason=reason) == getattr(stats, reason)
    assert value(registry, "coupler_watermark_lag_seconds", mapping="CUSTOMER", system="CRM") == 300
    assert value(registry, "coupler_job_age_seconds", mapping="CUSTOMER") is None  # no job runs


def test_the_collector_gives_the_age_of_the_job_running_on_a_mapping(world: World) -> None:
    world.coupler.systems.clock = lambda: NOW
    running = Job(id="j9", mapping="CUSTOMER", kind=JobKind.FULL, direction="-", started_at=NOW - timedelta(seconds=90))
    world.store.jobs.add(running)
    world.store.cursors.acquire_lock(lock_name("CUSTOMER"), "j9", until=NOW + timedelta(minutes=5), now=NOW)
    assert value(scrape(world), "coupler_job_age_seconds", mapping="CUSTOMER") == 90


def test_a_state_store_that_does_not_answer_is_down_not_a_failed_scrape(world: World) -> None:
    def broken(mapping: str) -> CouplingStats:
        raise OSError("database is locked")

    world.store.stats = broken  # type: ignore[method-assign]
    registry = scrape(world)
    assert value(registry, "coupler_state_store_up") == 0
    assert value(registry, "coupler_couplings", mapping="CUSTOMER") is None


def test_metrics_scrape_in_prometheus_text_format(world: World) -> None:
    metrics = Metrics(lambda: world.coupler.systems)
    try:
        text = metrics.scrape().decode()
    finally:
        metrics.close()
    assert "# TYPE coupler_records_waiting gauge" in text and "# TYPE coupler_jobs_total counter" in text

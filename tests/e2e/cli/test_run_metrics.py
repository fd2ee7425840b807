"""`coupler run --every --metrics-port` on the demo: the polling loop serves the same Prometheus metrics as
`coupler serve` and `coupler worker` (jobs by mapping, kind and outcome, records by counter, the state store's
gauges), counting round after round, and stops serving them when it stops."""

from __future__ import annotations

import signal
import socket

import httpx
import pytest

from .support import Demo
from .test_run import _city, _couple_a_customer, _finished, _start
from .test_run import _wait_for as wait_for

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return ""


def sample(text: str, name: str) -> float | None:
    """The value of the sample ``name`` (with its labels, as exposed), None when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_run_every_serves_metrics_that_count_its_rounds_and_records(demo: Demo) -> None:
    number, account_id = _couple_a_customer(demo)
    port = free_port()
    process = _start(demo, "run", "--every", "1s", "--metrics-port", str(port))
    customer_jobs = 'coupler_jobs_total{kind="incremental",mapping="CUSTOMER",outcome="ok"}'
    try:
        wait_for(lambda: (sample(scrape(port), customer_jobs) or 0) >= 1, "a first round on /metrics")
        first = sample(scrape(port), customer_jobs)
        demo.execute(demo.erp, "UPDATE customers SET city = 'Harrogate' WHERE number = ?", (number,))
        wait_for(lambda: _city(demo, account_id) == "Harrogate", "the edit to reach the CRM")
        wait_for(lambda: (sample(scrape(port), customer_jobs) or 0) >= (first or 0) + 2, "more rounds counted")
        text = scrape(port)
        process.send_signal(signal.SIGTERM)
        code, _stdout, stderr = _finished(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert code == 0, stderr
    assert f"Metrics on http://127.0.0.1:{port}/metrics" in stderr
    assert sample(text, 'coupler_records_total{counter="modified",mapping="CUSTOMER"}') == 1.0, "the edit, once"
    for mapping in ("SALESPEOPLE", "CURRENCY", "CONTACT", "ITEM-PRODUCT"):
        assert (sample(text, f'coupler_jobs_total{{kind="incremental",mapping="{mapping}",outcome="ok"}}') or 0) >= 1
    assert sample(text, "coupler_state_store_up") == 1.0
    assert sample(text, 'coupler_couplings{mapping="CUSTOMER"}') is not None
    assert sample(text, 'coupler_records_waiting{mapping="CUSTOMER",reason="failed"}') == 0.0
    assert 'coupler_watermark_lag_seconds{mapping="CUSTOMER",system="' in text
    assert "coupler_queue_up" not in text, "no job queue configured: no queue gauges"
    assert scrape(port) == "", "the metrics stop with the command"


def test_run_metrics_port_taken_is_refused_before_any_round(demo: Demo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = demo.coupler("run", "--every", "1s", "--metrics-port", str(port), expect=2)
    assert f"cannot serve the metrics on 127.0.0.1:{port}" in result.stderr
    assert demo.coupler("jobs", "--json").json() == [], "nothing ran"


def test_run_queue_refuses_a_metrics_port(demo: Demo) -> None:
    result = demo.coupler("run", "--queue", "--metrics-port", str(free_port()), expect=2)
    assert "coupler worker --metrics-port" in result.stderr

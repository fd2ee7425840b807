"""coupler serve over both test servers: /metrics counts the requests to each system (and the 429s), and the JSON
log lines of a job carry its id, mapping and connection and never a secret, although nothing masks them here."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest

from coupler.adapters.logs import configure_logging
from coupler.entrypoints.web.app import create_app

from .support import HttpDemo

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

BC = "Business Central (test server)"
DV = "Dynamics 365 Sales (test server)"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root, ours = logging.getLogger(), logging.getLogger("coupler")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    stream = io.StringIO()
    configure_logging(level=logging.DEBUG, stream=stream, environ={"COUPLER_LOG_FORMAT": "json"})  # no masking
    yield stream
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    ours.setLevel(levels[1])


def sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_and_json_logs_of_a_job_over_http(
    http_demo: HttpDemo, secrets: dict[str, str], log_lines: io.StringIO
) -> None:
    http_demo.bc_faults.throttle(1, retry_after=0.2)
    with TestClient(create_app(http_demo.config), base_url="http://127.0.0.1") as client:
        report = client.app.state.web.coupler.match("CURRENCY", create_missing=True)  # type: ignore[attr-defined]
        text = client.get("/metrics").text
        ready = client.get("/readyz")

    assert ready.status_code == 200 and [c["name"] for c in ready.json()["checks"]] == ["state store", BC, DV]
    assert sample(text, f'coupler_http_requests_total{{method="GET",status="200",system="{BC}"}}') > 0
    assert sample(text, f'coupler_http_requests_total{{method="GET",status="200",system="{DV}"}}') > 0
    assert sample(text, f'coupler_http_requests_total{{method="GET",status="429",system="{BC}"}}') == 1
    assert sample(text, f'coupler_http_throttled_total{{system="{BC}"}}') == 1
    assert sample(text, f'coupler_http_throttle_wait_seconds_total{{system="{BC}"}}') == pytest.approx(0.2)
    assert sample(text, 'coupler_jobs_total{kind="match",mapping="CURRENCY"') == 1

    logged = log_lines.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]  # every line is one JSON object
    of_job = [line for line in lines if line.get("job") == report.job.id]
    assert {line["logger"] for line in of_job} >= {"coupler.services.engine.recorder", "coupler.http"}
    assert all(line["mapping"] == "CURRENCY" and line["connection"] == str(http_demo.config) for line in of_job)
    assert any("throttling" in line["message"] for line in lines)
    for secret in secrets.values():
        assert secret not in logged
    assert "Bearer" not in logged and "Authorization" not in logged and "$filter" not in logged

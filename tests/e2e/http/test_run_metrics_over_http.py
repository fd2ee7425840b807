"""`coupler run --every --metrics-port` over both test servers: the polling loop's /metrics counts the requests to
each system by method and status, the 429 answers and the time they held coupler back, round after round."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from e2e.cli.support import coupler_command
from e2e.cli.test_run import _wait_for as wait_for
from e2e.cli.test_run_metrics import free_port, sample, scrape

from .support import SECRETS, HttpDemo

pytestmark = pytest.mark.e2e

BC = "Business Central (test server)"
DV = "Dynamics 365 Sales (test server)"


def total(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_run_every_counts_requests_and_throttling_over_http(http_demo: HttpDemo) -> None:
    http_demo.bc_faults.throttle(1, retry_after=0.3)
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "COUPLER_CONFIG"} | SECRETS
    command = [coupler_command(), "run", "--every", "1s", "--metrics-port", str(port)]
    command += ["--config", str(http_demo.config)]
    process = subprocess.Popen(
        command, cwd=http_demo.directory, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    rounds = 'coupler_jobs_total{kind="incremental",mapping="ITEM-PRODUCT",outcome="ok"}'
    try:
        wait_for(lambda: (sample(scrape(port), rounds) or 0) >= 1, "a first round on /metrics", timeout=60)
        first = total(scrape(port), f'coupler_http_requests_total{{method="GET",status="200",system="{BC}"}}')
        wait_for(lambda: (sample(scrape(port), rounds) or 0) >= 2, "a second round", timeout=60)
        text = scrape(port)
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    then = total(text, f'coupler_http_requests_total{{method="GET",status="200",system="{BC}"}}')
    assert then > first > 0, "each round's reads are counted"
    assert total(text, f'coupler_http_requests_total{{method="GET",status="200",system="{DV}"}}') > 0
    assert total(text, f'coupler_http_requests_total{{method="GET",status="429",system="{BC}"}}') == 1
    assert sample(text, f'coupler_http_throttled_total{{system="{BC}"}}') == 1
    assert sample(text, f'coupler_http_throttle_wait_seconds_total{{system="{BC}"}}') == pytest.approx(0.3)
    assert total(text, f'coupler_http_request_duration_seconds_count{{method="GET",system="{DV}"}}') > 0
    for secret in SECRETS.values():
        assert secret not in text + stderr

"""The web app's /metrics after jobs ran, its health probes (/healthz, /readyz), and who may ask them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from coupler.entrypoints.web.app import create_app
from coupler.services.api import Coupler

from .conftest import BASE_URL

TOKEN = "s3cret-token-for-tests"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels`` (None: no such sample)."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[2] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match[3])
    return None


def test_metrics_count_the_jobs_and_records_and_read_the_state_store(client: TestClient, coupler: Coupler) -> None:
    coupler.match("SALESPEOPLE", sync_after="both")
    created = coupler.match("CURRENCY", create_missing=True)
    coupler.match("CUSTOMER")
    report = coupler.sync_full("CUSTOMER")

    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert sample(text, "coupler_jobs_total", mapping="CURRENCY", kind="match", outcome="ok") == 1
    inserted = created.job.counters.inserted
    assert inserted > 0 and sample(text, "coupler_records_total", mapping="CURRENCY", counter="inserted") == inserted
    outcome = "ok" if report.ok else "errors"
    assert sample(text, "coupler_jobs_total", mapping="CUSTOMER", kind="full", outcome=outcome) == 1
    assert sample(text, "coupler_job_duration_seconds_count", mapping="CUSTOMER", kind="full") == 1
    assert sample(text, "coupler_jobs_running", mapping="CUSTOMER", kind="full") == 0
    assert sample(text, "coupler_state_store_up") == 1
    stats = coupler.systems.store.stats("CUSTOMER")
    assert sample(text, "coupler_couplings", mapping="CUSTOMER") == stats.couplings > 0
    assert sample(text, "coupler_records_waiting", mapping="CUSTOMER", reason="failed") == stats.failed
    assert sample(text, "coupler_records_waiting", mapping="CUSTOMER", reason="conflicts") == stats.conflicts
    lag = sample(text, "coupler_watermark_lag_seconds", mapping="CUSTOMER", system="Business Central")
    assert lag is not None and lag >= 0


def test_a_conflict_waits_in_the_metrics(client: TestClient, conflict: str) -> None:
    text = client.get("/metrics").text
    assert sample(text, "coupler_records_waiting", mapping="CUSTOMER", reason="conflicts") == 1
    assert sample(text, "coupler_jobs_total", mapping="CUSTOMER", kind="manual", outcome="errors") == 1
    assert sample(text, "coupler_records_total", mapping="CUSTOMER", counter="conflicts") == 1


def test_healthz_and_readyz_answer_when_everything_does(client: TestClient) -> None:
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert [c["name"] for c in body["checks"]] == [
        "state store",
        "Business Central",
        "Dynamics 365 Sales",
    ]
    assert all(c["ok"] for c in body["checks"])


def test_readyz_names_the_system_that_does_not_answer(config: Path) -> None:
    (config.parent / "crm.db").write_bytes(b"not a database" * 100)
    with TestClient(create_app(config), base_url=BASE_URL) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
        assert answer.status_code == 503
        checks = {c["name"]: c for c in answer.json()["checks"]}
        assert checks["Dynamics 365 Sales"] == {
            "name": "Dynamics 365 Sales",
            "ok": False,
            "problem": "does not answer",
        }
        assert checks["Business Central"]["ok"] and checks["state store"]["ok"]
        assert "crm.db" not in answer.text and "database" not in answer.text  # the log says why, not the answer
        # the app opens what answers (the pages still list Business Central's records): the store is up
        assert client.get("/metrics").text.count("coupler_state_store_up 1.0") == 1


@pytest.fixture
def guarded(config: Path) -> TestClient:
    with TestClient(create_app(config, host="0.0.0.0", token=TOKEN), base_url="http://10.0.0.5") as client:
        yield client  # type: ignore[misc]


def test_the_probes_need_no_token_and_the_metrics_do(guarded: TestClient) -> None:
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/readyz").status_code == 200
    refused = guarded.get("/metrics", follow_redirects=False)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    scraped = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and "coupler_state_store_up 1.0" in scraped.text


def test_wrong_tokens_never_throttle_the_probes(guarded: TestClient) -> None:
    for _ in range(6):
        guarded.get("/api/mappings", headers={"Authorization": "Bearer wrong-wrong-wrong"})
    assert guarded.get("/api/mappings", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/readyz").status_code == 200


def test_readyz_says_when_the_configuration_cannot_be_read(config: Path) -> None:
    with TestClient(create_app(config), base_url=BASE_URL) as client:
        config.write_text("not = [valid")
        client.app.state.web.close()  # type: ignore[attr-defined]  # as if the systems were lost: reopened from the file
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"] == [{"name": "configuration", "ok": False, "problem": "cannot be read"}]


@pytest.mark.postgres
def test_with_a_job_queue_the_metrics_say_its_depth_and_waiting_time(config: Path) -> None:
    from coupler.adapters.queue.client import Work
    from coupler.bootstrap import open_queue
    from coupler.config import load_config
    from pgdb import fresh_pg_database

    with fresh_pg_database("coupler_metrics") as url:
        state = url.render_as_string(hide_password=False)
        text = re.sub(
            r"^state = .*$",
            lambda _: f'state = "{state}"\n\n[queue]\nscheduled = false\n',
            config.read_text(),
            flags=re.M,
        )
        config.write_text(text, encoding="utf-8")
        with open_queue(load_config(config)) as queue:  # no worker: the job waits
            queue.defer(Work.FULL, "CURRENCY")
        with TestClient(create_app(config), base_url=BASE_URL) as client:
            scraped = client.get("/metrics").text
    connection = load_config(config).queue.connection  # type: ignore[union-attr]
    assert sample(scraped, "coupler_queue_up") == 1
    assert sample(scraped, "coupler_queue_jobs", connection=connection, status="todo") == 1
    assert sample(scraped, "coupler_queue_jobs", connection=connection, status="doing") == 0
    waited = sample(scraped, "coupler_queue_oldest_waiting_seconds", connection=connection)
    assert waited is not None and waited >= 0

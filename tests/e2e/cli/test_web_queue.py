"""The web app and the REST API with a job queue configured: their background work is deferred as jobs that a real
`coupler worker` process runs, and the task notice shows the job's state read back from PostgreSQL (waiting for a
worker, waiting for its mapping, finished with its counts). Without a queue the thread pool runs it (the web tests)."""

from __future__ import annotations

import signal
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 package; httpx 0.28 works the same for tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from coupler.bootstrap import open_coupler
from coupler.entrypoints.web.app import create_app
from coupler.services.lease import Lease

from .support import Demo
from .test_run import _couple_a_customer, _start
from .test_run import _wait_for as wait_for
from .test_worker import queue_rows, queued, workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
__all__ = ["queued"]  # the fixture, used by the tests below

BASE_URL = "http://127.0.0.1"


@pytest.fixture
def web(queued: tuple[Demo, sa.URL]) -> Iterator[TestClient]:
    demo, _url = queued
    with TestClient(create_app(demo.config), base_url=BASE_URL) as client:
        client.get("/login", follow_redirects=False)
        yield client


@pytest.fixture
def api(web: TestClient) -> Iterator[TestClient]:
    """A script's client of the same app: no cookies, so no CSRF token."""
    script = TestClient(web.app, base_url=BASE_URL)
    yield script
    script.close()


def _task(client: TestClient, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/tasks/{task_id}").json()
    return body


def _finished(client: TestClient, task_id: str) -> Callable[[], bool]:
    return lambda: _task(client, task_id)["state"] != "running"


def _jobs(url: sa.URL, task_id: str) -> list[tuple[Any, ...]]:
    return queue_rows(url, f"SELECT task_name, status FROM procrastinate_jobs WHERE args->'task'->>'id' = '{task_id}'")


def test_a_page_action_and_an_api_call_are_queued_and_a_worker_runs_them(
    queued: tuple[Demo, sa.URL], web: TestClient, api: TestClient
) -> None:
    demo, url = queued
    number, account_id = _couple_a_customer(demo)
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (number,))

    form = {"csrf_token": web.cookies["coupler_csrf"], "back": "/mappings"}
    started = web.post("/mappings/CUSTOMER/sync-modified", data=form, follow_redirects=False)
    assert started.status_code == 303, started.text
    page_task = started.headers["location"].split("task=")[1]
    api_task = api.post("/api/tasks/sync-full", json={"mapping": "CURRENCY"}).json()["id"]

    waiting = _task(web, page_task)
    assert (waiting["state"], waiting["stage"]) == ("running", "Waiting for a worker")
    assert _jobs(url, page_task) == [("coupler.incremental", "todo")], "a job in the queue, not a thread"
    assert _jobs(url, api_task) == [("coupler.full", "todo")]
    time.sleep(0.3)
    assert demo.account_by_id(account_id)["address1_city"] != "Leeds", "nothing runs before a worker takes it"

    with workers(demo):
        wait_for(_finished(web, page_task), "the worker to run the page's job")
        wait_for(_finished(web, api_task), "the worker to run the API's job")

    done = _task(web, page_task)
    assert done["state"] == "done", done
    assert done["label"] == "Synchronize modified records of CUSTOMER"
    assert "1 synchronized" in done["message"]
    assert len(done["job_ids"]) == 1
    assert demo.account_by_id(account_id)["address1_city"] == "Leeds"
    [job] = [j for j in demo.coupler("jobs", "--json", "--mapping", "CUSTOMER").json() if j["id"] == done["job_ids"][0]]
    assert job["counters"]["modified"] == 1

    full = _task(web, api_task)
    assert full["state"] == "done", full
    assert full["job_ids"] and full["message"]

    polled = web.get(f"/tasks/{page_task}", headers={"HX-Request": "true"})
    assert polled.headers["HX-Trigger"] == "task-finished"
    assert "Synchronize modified records of CUSTOMER" in polled.text and "1 synchronized" in polled.text
    assert page_task in [t["id"] for t in web.get("/api/tasks").json()]


def test_a_queued_job_waits_while_another_job_holds_its_mapping(
    queued: tuple[Demo, sa.URL], web: TestClient, api: TestClient
) -> None:
    demo, url = queued
    coupler = open_coupler(demo.config, validate=False)
    lease = Lease(
        coupler.systems.store.cursors, mapping="CURRENCY", owner="a run elsewhere", clock=coupler.systems.clock
    )
    lease.take()
    try:
        task_id = api.post("/api/tasks/sync-full", json={"mapping": "CURRENCY", "force": True}).json()["id"]
        with workers(demo):
            wait_for(lambda: _task(web, task_id)["stage"] != "Waiting for a worker", "the worker to try the job")
            held = _task(web, task_id)
            assert held["state"] == "running", held
            assert held["stage"] == "Waiting while another run synchronizes CURRENCY"
            assert _jobs(url, task_id)[0][0] == "coupler.full"
            lease.release()
            wait_for(_finished(web, task_id), "the job to run once the mapping is free")
        done = _task(web, task_id)
        assert done["state"] == "done", done
        attempts = queue_rows(url, f"SELECT attempts FROM procrastinate_jobs WHERE args->'task'->>'id' = '{task_id}'")
        assert attempts[0][0] >= 2, "tried, refused as busy, tried again"
    finally:
        lease.release()
        coupler.close()


def test_a_failed_job_shows_its_message(queued: tuple[Demo, sa.URL], web: TestClient, api: TestClient) -> None:
    demo, _url = queued
    task_id = api.post("/api/tasks/sync", json={"mapping": "CUSTOMER", "refs": ["NO-SUCH-CUSTOMER"]}).json()["id"]
    worker = _start(demo, "worker")
    try:
        wait_for(_finished(web, task_id), "the worker to run the job")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    assert "NO-SUCH-CUSTOMER" in stderr, "the worker logs the failed job"
    failed = _task(web, task_id)
    assert failed["state"] == "failed", failed
    assert "NO-SUCH-CUSTOMER" in failed["error"]

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

from coupler.adapters.queue import progress
from coupler.adapters.queue.client import Work
from coupler.bootstrap import open_coupler, open_queue
from coupler.config import load_config
from coupler.entrypoints.web.app import create_app
from coupler.services.lease import Lease

from .support import Demo
from .test_run import _couple_a_customer, _couple_what_customers_refer_to, _start
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
    page = web.get(f"/tasks/{page_task}")
    assert page.status_code == 200 and "1 synchronized" in page.text
    notice = web.get(f"/mappings/CUSTOMER?task={page_task}")
    assert "Synchronize modified records of CUSTOMER" in notice.text, "the notice on the page the action went back to"


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
            waits = "Waiting while another run synchronizes CURRENCY"
            wait_for(lambda: _task(web, task_id)["stage"] == waits, "the worker to find the mapping held")
            held = _task(web, task_id)
            assert held["state"] == "running", held
            assert held["done"] == 0 and held["finished_at"] is None
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


def test_select_all_matching_is_queued_with_its_search_and_the_worker_finds_the_records(
    queued: tuple[Demo, sa.URL], web: TestClient
) -> None:
    demo, url = queued
    _couple_what_customers_refer_to(demo)
    demo.coupler("match", "CUSTOMER", expect=None)  # some are left unmatched
    coupler = open_coupler(demo.config, validate=False)
    try:
        numbers = [f"C00{n}" for n in range(100, 300, 10)]
        coupled = {n for n in numbers if coupler.status("CUSTOMER", n).coupling is not None}
        c001, c002 = {n for n in coupled if n.startswith("C001")}, {n for n in coupled if n.startswith("C002")}
        assert c001 and c002, coupled
        csrf = web.cookies["coupler_csrf"]
        form = {"csrf_token": csrf, "scope": "all", "q": "C001", "filter": "all", "choice": "to-integration"}
        sync = web.post("/mappings/CUSTOMER/sync", data=form, follow_redirects=False).headers["location"]
        form = {"csrf_token": csrf, "scope": "all", "q": "C002", "filter": "coupled"}
        decouple = web.post("/mappings/CUSTOMER/records/decouple", data=form, follow_redirects=False).headers[
            "location"
        ]
        sync_task, decouple_task = sync.split("task=")[1], decouple.split("task=")[1]
        arguments = queue_rows(url, f"SELECT args FROM procrastinate_jobs WHERE args->'task'->>'id' = '{sync_task}'")
        assert arguments[0][0]["search"] == "C001" and "refs" not in arguments[0][0], "the search, not the records"

        with workers(demo):
            wait_for(_finished(web, sync_task), "the worker to synchronize")
            wait_for(_finished(web, decouple_task), "the worker to decouple")

        synchronized = _task(web, sync_task)
        assert synchronized["state"] == "done", synchronized
        [job] = [j for j in coupler.jobs(limit=10) if j.id in synchronized["job_ids"]]
        assert job.counters.total == len(c001) and job.counters.failed == 0
        decoupled = _task(web, decouple_task)
        assert decoupled["message"] == f"{len(c002)} decoupled", decoupled
        assert all(coupler.status("CUSTOMER", n).coupling is None for n in c002)
        assert all(coupler.status("CUSTOMER", n).coupling is not None for n in c001)
    finally:
        coupler.close()


def test_a_workers_progress_row_shows_the_stage_and_records_done(
    queued: tuple[Demo, sa.URL], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, _url = queued
    config = load_config(demo.config)
    monkeypatch.setattr(progress, "EVERY", 0.0)
    with open_queue(config) as queue:
        tag = {"id": "q0123", "label": "Full synchronization of CUSTOMER", "at": "2026-12-07T12:00:00Z"}
        job_id = queue.defer(Work.FULL, "CUSTOMER", task=tag)
        row = progress.RowProgress(queue.app, job_id)
        row.start("Reading CUSTOMER", 40)
        row.advance(10)
        [seen] = progress.progress_of(queue.app, connection=queue.connection, task="q0123")
        assert (seen.status, seen.stage, seen.done, seen.total, seen.task) == ("todo", "Reading CUSTOMER", 10, 40, tag)
        progress.finish(queue.app, job_id, jobs=["j1"])
        [seen] = progress.progress_of(queue.app, connection=queue.connection, task="q0123")
        assert seen.jobs == ("j1",) and seen.finished_at is not None
        assert progress.recent_tasks(queue.app, connection=queue.connection, limit=5) == ["q0123"]

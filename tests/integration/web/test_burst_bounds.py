"""The web app under load reads what it shows: through the app, a page of the records list (and its API twin) reads
at most a page of records of each system whatever the filter; the mapping pages and the review read no records at
all; a burst of requests is worked on a few at a time, never all at once, and past a limit the app answers 503 at
once instead of holding more, as it does for background tasks past theirs. Reads are counted by wrapping the demo's
SQL connectors in the running app."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from coupler.domain.errors import RunStopped
from coupler.entrypoints.web.app import create_app
from coupler.entrypoints.web.deps import WebState
from coupler.entrypoints.web.limits import WORKING, RequestLimit
from coupler.entrypoints.web.tasks import TaskProgress, TaskRunner
from coupler.services.api import Coupler
from coupler.services.views.browse import RecordFilter
from reads import ReadCounter

EXTRA = 300
LIMIT = 10


@pytest.fixture
def counted(demo_dir: Path, coupler: Coupler) -> tuple[ReadCounter, ReadCounter]:
    """EXTRA more customers in the demo, all but one in ten with a same-named account, coupled by match-based
    coupling; then both systems of the running app counted."""
    names = [f"Load Customer {n:04d}" for n in range(EXTRA)]
    with closing(sqlite3.connect(demo_dir / "erp.db")) as erp, erp:
        erp.executemany(
            'INSERT INTO customers (id, number, "displayName") VALUES (?, ?, ?)',
            [(str(uuid.uuid4()), f"L{n:04d}", name) for n, name in enumerate(names)],
        )
    with closing(sqlite3.connect(demo_dir / "crm.db")) as crm, crm:
        crm.executemany(
            "INSERT INTO account (accountid, name, customertypecode) VALUES (?, ?, 3)",
            [(str(uuid.uuid4()), name) for n, name in enumerate(names) if n % 10 != 3],
        )
    assert coupler.match("CUSTOMER").job.counters.coupled >= EXTRA - EXTRA // 10
    systems = coupler.systems
    systems.local = local = ReadCounter(systems.local)
    systems.integration = integration = ReadCounter(systems.integration)
    return local, integration


@pytest.mark.parametrize("search", ["", "load"])
@pytest.mark.parametrize("filter", [f.value for f in RecordFilter])
@pytest.mark.parametrize("path", ["/mappings/CUSTOMER/records", "/api/mappings/CUSTOMER/records"])
def test_a_records_page_reads_at_most_a_page_of_each_system(
    client: TestClient, counted: tuple[ReadCounter, ReadCounter], path: str, filter: str, search: str
) -> None:
    local, integration = counted
    local.reset(), integration.reset()
    query = {"filter": filter, "limit": LIMIT, ("search" if path.startswith("/api") else "q"): search}
    assert client.get(path, params=query).status_code == 200
    assert local.records <= LIMIT + 1, f"{local.records} local records read with their fields"
    assert integration.records + integration.keys <= LIMIT, "at most the names of the page's coupled accounts"


@pytest.mark.parametrize("path", ["/", "/mappings/CUSTOMER", "/api/review", "/api/mappings/CUSTOMER/review"])
def test_the_mappings_pages_and_the_review_read_no_records(
    client: TestClient, counted: tuple[ReadCounter, ReadCounter], path: str
) -> None:
    local, integration = counted
    local.reset(), integration.reset()
    assert client.get(path).status_code == 200
    assert (local.records, local.keys, integration.records, integration.keys) == (0, 0, 0, 0)
    assert local.counts and integration.counts, "the review counts the records instead"


def test_a_burst_is_worked_on_a_few_requests_at_a_time(client: TestClient, coupler: Coupler) -> None:
    coupler.systems.local = local = ReadCounter(coupler.systems.local, pause=0.05)  # each read overlaps the others
    answers: list[int] = []

    def request() -> None:
        answers.append(client.get("/api/mappings/CUSTOMER/records", params={"limit": 5}).status_code)

    threads = [threading.Thread(target=request) for _ in range(4 * WORKING)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(threads), "the others waited their turn"
    assert 1 < local.most_in_flight <= WORKING


def test_one_request_at_work_the_next_waits_its_turn_and_past_the_limit_the_app_answers_503_at_once() -> None:
    release = asyncio.Event()
    entered: list[str] = []

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["path"])
        await release.wait()
        await PlainTextResponse("done")(scope, receive, send)

    limit = RequestLimit(slow, working=1, most=2)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=limit)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            held = [asyncio.create_task(client.get(path)) for path in ("/a", "/b")]
            while limit.held < 2:
                await asyncio.sleep(0)
            assert entered == ["/a"], "the second request waits its turn"
            refused = [await client.get("/api/mappings"), await client.get("/mappings")]
            release.set()
            return [*(await asyncio.gather(*held)), *refused, await client.get("/c")]

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever else runs in this worker's main thread
        first, second, api, page, after = thread.submit(asyncio.run, burst()).result()
    assert (first.status_code, second.status_code, after.status_code) == (200, 200, 200)
    assert (api.status_code, page.status_code) == (503, 503) and api.headers["retry-after"] == "1"
    assert api.json()["error"] == "busy" and "busy" in page.text
    assert entered == ["/a", "/b", "/c"], "in order of arrival; a refused request never reaches the app"
    assert limit.held == 0


def test_create_app_installs_the_request_limit(config: Path) -> None:
    app = create_app(config, working=3, max_requests=7)
    outermost = app.user_middleware[0]
    assert (outermost.cls, outermost.kwargs) == (RequestLimit, {"working": 3, "most": 7})


def _waiting(release: threading.Event) -> object:
    """Work that waits for ``release``, then stops."""

    def work(coupler: object, progress: TaskProgress) -> object:
        release.wait(30)
        raise RunStopped("released")

    return work


def test_background_tasks_beyond_the_bound_are_refused_not_queued(api: TestClient) -> None:
    release = threading.Event()
    state: WebState = api.app.state.web  # type: ignore[attr-defined]
    runner = TaskRunner(lambda progress: nullcontext(None), workers=1, most=2)  # type: ignore[arg-type,return-value]
    state.tasks = runner
    try:
        held = [runner.submit(f"task {n}", _waiting(release)) for n in range(2)]  # type: ignore[arg-type]
        refused = api.post("/api/tasks/sync-modified", json={})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert "2 background tasks are waiting or running" in refused.json()["detail"]
        release.set()
        for task in held:
            while not runner.get(task.id).finished:  # type: ignore[union-attr]
                threading.Event().wait(0.01)
        assert api.post("/api/tasks/sync-modified", json={}).status_code == 202, "taken again once they finished"
    finally:
        release.set()
        runner.shutdown(wait=True)

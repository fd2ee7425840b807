"""Fixtures for the web tests: a private demo per test and the app on it, driven in-process by TestClient.

The demo is created once per session (``web_demo_template``) and copied for every test (``demo_dir``). ``client``
talks to the app as a browser on this machine would (base URL http://127.0.0.1, the CSRF cookie kept between
requests); ``api`` is a script's client (no cookies, so the JSON API needs no CSRF token).
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 package; httpx 0.28 works the same for tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from coupler.demo import create_demo
from coupler.demo.create import CONFIG_FILE
from coupler.domain.mapping import Side
from coupler.entrypoints.web.app import create_app
from coupler.entrypoints.web.deps import WebState
from coupler.services.api import Coupler

BASE_URL = "http://127.0.0.1"


@pytest.fixture(scope="session")
def web_demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo (erp.db, crm.db, coupler.toml); tests copy it and never change it."""
    return create_demo(tmp_path_factory.mktemp("web-demo") / "demo").directory


@pytest.fixture
def demo_dir(web_demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo; its state store (coupler-state.db) appears once the app opens it."""
    return Path(shutil.copytree(web_demo_template, tmp_path / "demo"))


@pytest.fixture
def config(demo_dir: Path) -> Path:
    return demo_dir / CONFIG_FILE


@pytest.fixture
def app(config: Path) -> FastAPI:
    return create_app(config)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client on loopback; the app's lifespan (opening the demo) runs around the test."""
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    """A script's client of the same running app: no cookies, so no CSRF token is needed."""
    script = TestClient(client.app, base_url=BASE_URL)  # no `with`: the app's lifespan already runs for `client`
    yield script
    script.close()


@pytest.fixture
def csrf(client: TestClient) -> str:
    """The browser client's CSRF token (the cookie the app sets on its first page; the API sets no cookie)."""
    client.get("/login", follow_redirects=False)
    token: str | None = client.cookies.get("coupler_csrf")
    assert token, "the app sets a CSRF cookie on its first page"
    return token


@pytest.fixture
def wait_task(api: TestClient) -> Callable[[str], dict[str, object]]:
    """Poll /api/tasks/{id} until the task has finished (at most 60 s); returns its last JSON."""
    import time

    def wait(task_id: str) -> dict[str, object]:
        deadline = time.monotonic() + 60
        while True:
            body: dict[str, object] = api.get(f"/api/tasks/{task_id}").json()
            if body.get("state") != "running":
                return body
            if time.monotonic() > deadline:
                pytest.fail(f"task {task_id} still running after 60 s: {body}")
            time.sleep(0.05)

    return wait


@pytest.fixture
def coupler(client: TestClient) -> Coupler:
    """The app's shared Coupler (for arranging state directly, as the CLI would)."""
    state: WebState = client.app.state.web  # type: ignore[attr-defined]
    return state.coupler


@pytest.fixture
def fabrikam(coupler: Coupler) -> str:
    """Salespeople and currencies coupled (as the tour does), then customer C00070 coupled to the account
    'Fabrikam, Inc.' and synchronized; returns the customer number."""
    coupler.match("SALESPEOPLE", sync_after="both")
    coupler.match("CURRENCY", create_missing=True)
    report = coupler.couple("CUSTOMER", "C00070", "Fabrikam, Inc.", sync_after=Side.LOCAL)
    assert report.ok, report.errors
    return "C00070"


def edit(database: Path, sql: str) -> None:
    """Change a demo database behind coupler's back (its triggers stamp modified-on)."""
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(sql)


@pytest.fixture
def conflict(fabrikam: str, demo_dir: Path, coupler: Coupler) -> str:
    """C00070's city changed on both sides, parked as a conflict by a Synchronize now."""
    edit(demo_dir / "erp.db", "UPDATE customers SET city = 'Odense' WHERE number = 'C00070'")
    edit(demo_dir / "crm.db", "UPDATE account SET address1_city = 'Aalborg' WHERE name = 'Fabrikam, Inc.'")
    report = coupler.sync("CUSTOMER", [fabrikam])
    assert report.job.counters.conflicts == 1, report
    return fabrikam

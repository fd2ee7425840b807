"""The job queue's PostgreSQL not answering when work is asked for: the web app, the REST API and `coupler run
--queue` say so in people's words (where it is, why, what to do; never a password nor a connection URL), and
nothing is half-written: once the database answers again the queue holds no job of the refused requests, and the
next request is queued as usual."""

from __future__ import annotations

import re
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 package; httpx 0.28 works the same for tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from coupler.adapters.queue.connection import ensure_schema
from coupler.entrypoints.web.app import create_app
from pgdb import PG_ADMIN_URL, fresh_pg_database

from .support import Demo
from .test_worker import queue_rows

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SECRET = "pg-s3cr3t-never-shown"
PASSWORD = "COUPLER_TEST_PG_PASSWORD"
QUEUE = '[queue]\nscheduled = false\ntick = "1s"\ntakeover_after = "3s"\n'
SAYS = "Start PostgreSQL there, or check the state store's address (state in coupler.toml)"


def point_at(demo: Demo, host: str, port: int, database: str) -> None:
    """The demo's state store (and so its queue) at ``host:port/database``, with a password from the environment:
    the test server trusts local connections and never asks for it, so it is a secret nobody should see."""
    user = sa.make_url(PG_ADMIN_URL).username or "postgres"
    state = f"postgresql+psycopg://{user}:${{{PASSWORD}}}@{host}:{port}/{database}"
    text = re.sub(r"^state = .*$", lambda _: f'state = "{state}"\n\n{QUEUE}', demo.config.read_text(), flags=re.M)
    demo.config.write_text(text, encoding="utf-8")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


@contextmanager
def refusing_connections(database: str) -> Iterator[None]:
    """PostgreSQL refuses new connections to ``database`` (as while it is stopped for maintenance); the connections
    already open go on."""
    admin = sa.create_engine(sa.make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        yield
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        admin.dispose()


def assert_worded(text: str, where: str) -> None:
    assert f"The job queue (PostgreSQL at {where}) does not answer: " in text, text
    assert SAYS in text and "nothing was queued" in text, text
    assert SECRET not in text and "postgresql" not in text and "Traceback" not in text, text


def test_run_queue_says_the_queue_does_not_answer_in_peoples_words(demo: Demo) -> None:
    port = closed_port()
    point_at(demo, "127.0.0.1", port, "coupler")
    result = demo.coupler("run", "--queue", env={PASSWORD: SECRET}, expect=1)
    assert_worded(result.stderr, f"127.0.0.1:{port}, database coupler")
    assert "Connection refused" in result.stderr
    as_json = demo.coupler("run", "--queue", "--json", env={PASSWORD: SECRET}, expect=1).json()
    assert as_json["error"] == "QueueUnavailable"
    assert_worded(as_json["problems"][0], f"127.0.0.1:{port}, database coupler")
    listing = demo.coupler("queue", env={PASSWORD: SECRET}, expect=1)
    assert_worded(listing.stderr, f"127.0.0.1:{port}, database coupler")


def test_the_web_app_and_the_api_say_the_queue_does_not_answer_and_queue_nothing(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD, SECRET)
    with fresh_pg_database("coupler_queue_down") as url:
        assert url.database is not None
        point_at(demo, url.host or "127.0.0.1", url.port or 5432, url.database)
        where = f"{url.host}:{url.port or 5432}, database {url.database}"
        ensure_schema(url.render_as_string(hide_password=False))  # a worker started once: the queue's tables exist
        with TestClient(create_app(demo.config), base_url="http://127.0.0.1") as web:
            web.get("/login", follow_redirects=False)
            form = {"csrf_token": web.cookies["coupler_csrf"], "back": "/mappings"}
            api = TestClient(web.app, base_url="http://127.0.0.1")
            with refusing_connections(url.database):
                page = web.post(
                    "/mappings/CUSTOMER/sync-modified",
                    data=form,
                    headers={"accept": "text/html"},
                    follow_redirects=False,
                )
                called = api.post("/api/tasks/sync-full", json={"mapping": "CURRENCY"})
            assert page.status_code == 503, page.text
            assert_worded(page.text.replace("&#39;", "'"), where)
            assert "not currently accepting connections" in page.text
            assert called.status_code == 503 and called.json()["error"] == "queue_unavailable", called.text
            assert_worded(called.json()["detail"], where)

            assert queue_rows(url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)], "nothing half-written"
            again = api.post("/api/tasks/sync-full", json={"mapping": "CURRENCY"})
            assert again.status_code == 202, again.text
            assert queue_rows(url, "SELECT task_name, status FROM procrastinate_jobs") == [("coupler.full", "todo")]
            api.close()

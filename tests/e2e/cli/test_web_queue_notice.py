"""A task a `coupler worker` ran shows the same notice as one the web app's thread pool ran: the records its jobs
wrote with their fields' old -> new values, each linked to its card (carried in the job's progress row)."""

from __future__ import annotations

import re
import warnings

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 package; httpx 0.28 works the same for tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

from .support import Demo
from .test_run import _couple_a_customer
from .test_run import _wait_for as wait_for
from .test_web_queue import _finished, web
from .test_worker import queued, workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
__all__ = ["queued", "web"]  # the fixtures, used by the test below


def test_a_queued_tasks_notice_shows_the_old_and_new_values_it_wrote(
    queued: tuple[Demo, sa.URL], web: TestClient
) -> None:
    demo, _url = queued
    number, account_id = _couple_a_customer(demo)
    old_city = demo.account_by_id(account_id)["address1_city"]
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (number,))
    form = {"csrf_token": web.cookies["coupler_csrf"], "back": "/mappings"}
    started = web.post("/mappings/CUSTOMER/sync-modified", data=form, follow_redirects=False)
    task_id = started.headers["location"].split("task=")[1]

    with workers(demo):
        wait_for(_finished(web, task_id), "the worker to run the page's job")

    polled = web.get(f"/tasks/{task_id}", headers={"HX-Request": "true"}).text
    assert re.search(
        r'<ul class="written">\s*<li>Dynamics 365 Sales Account <a href="/mappings/CUSTOMER/records/', polled
    )
    change = re.search(r'<span class="change">City ([^<]*) → Leeds</span>', polled)
    assert change is not None, polled
    assert change.group(1) == (old_city or "—")

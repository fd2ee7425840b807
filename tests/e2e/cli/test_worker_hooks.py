"""Webhooks with the job queue: a notified synchronization deferred as a job (``coupler.notified``, what `coupler
serve` defers when a system notifies it) is done by a real worker, for the records it names only; the workers renew
the subscriptions on their own periodic task."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from coupler.adapters.queue.client import Work
from pgdb import fresh_pg_database

from .support import Demo
from .test_run import _couple_a_customer
from .test_run import _wait_for as wait_for
from .test_worker import QUEUE, configure, defer, finished, queue_rows, workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

HOOKS = '[hooks]\nurl = "https://coupler.example.com"\nsecret = "${COUPLER_HOOKS_SECRET}"\ncheck_every = "1s"\n'


@pytest.fixture
def hooked(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Demo, sa.URL]]:
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", "a-secret-long-enough-for-hooks")
    with fresh_pg_database("coupler_hooks") as url:
        configure(demo, url, QUEUE + "\n" + HOOKS)
        yield demo, url


def test_a_notified_synchronization_is_done_by_a_worker_for_the_named_records(hooked: tuple[Demo, sa.URL]) -> None:
    demo, url = hooked
    number, account_id = _couple_a_customer(demo)
    other, other_name = demo.matched_customers()[1]
    demo.coupler("couple", "CUSTOMER", other, other_name, "--sync-after", "local")
    other_account = demo.account(other_name)["accountid"]
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number IN (?, ?)", (number, other))
    (key,) = [row["id"] for row in demo.query(demo.erp, "SELECT id FROM customers WHERE number = ?", (number,))]
    (job,) = defer(demo, (Work.NOTIFIED, "CUSTOMER", {"side": "local", "keys": [key]}))
    with workers(demo):
        wait_for(lambda: finished(url, [job]), "the worker to run the notified job")
        assert demo.account_by_id(account_id)["address1_city"] == "Leeds"
        assert demo.account_by_id(other_account)["address1_city"] != "Leeds", "only the notified record"
        renewals = "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'coupler.hooks' AND status = 'succeeded'"
        wait_for(lambda: bool(queue_rows(url, renewals)), "the workers' periodic renewal of the subscriptions")

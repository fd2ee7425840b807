"""Webhooks with the job queue: `coupler serve` defers what a notification told of as a ``coupler.notified`` job in
the PostgreSQL queue, and a real `coupler worker` process runs it: an item's price changed in Business Central
reaches Dynamics 365 Sales."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from typing import Any

import psycopg
import pytest

from coupler.domain.mapping import Side
from coupler.entrypoints.web.hooks import HookReceiver
from coupler.testing import TokenIssuer
from coupler.testing.demo import DEMO_COMPANY
from e2e.cli.support import coupler_command
from pgdb import fresh_pg_database

from .hooks_support import free_port, serving, wait
from .support import BC_CLIENT, SECRETS, TENANT, HttpDemo
from .test_webhooks_over_http import BC_SCOPE, FAST, HOOK_SECRET, hooks_section

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def test_a_notification_becomes_a_job_that_a_worker_runs(
    start_demo: Callable[..., HttpDemo], issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", HOOK_SECRET)
    monkeypatch.setattr(HookReceiver, "first_check", 3600.0)
    servers: list[Any] = []

    def keep(app: Any) -> Any:
        app.server.hooks.settings = FAST
        servers.append(app.server)
        return app

    demo = start_demo(wrap_erp=keep)
    with fresh_pg_database("coupler_hooks_queue") as pg:
        state = pg.render_as_string(hide_password=False)
        port = free_port()
        text = re.sub(r"^state = .*$", lambda _: f'state = "{state}"', demo.config.read_text(), count=1, flags=re.M)
        text += '\n[queue]\nscheduled = false\ntick = "1s"\n' + hooks_section(f"http://127.0.0.1:{port}")
        demo.config.write_text(text, encoding="utf-8")
        with demo.open() as coupler:
            assert coupler.match("ITEM-PRODUCT", create_missing=True, sync_after=Side.LOCAL).ok
        worker = subprocess.Popen(
            [coupler_command(), "worker", "--config", str(demo.config)],
            cwd=demo.directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with serving(demo.config, port) as app:
                receiver: HookReceiver = app.state.hooks
                assert not receiver.renew, "with a queue the workers renew the subscriptions"
                receiver.check()  # subscribes every table Business Central is the source of
                assert {s.table for s in servers[0].hooks.subscriptions.values()} >= {"items"}
                _change_a_price(demo, issuer.issue(BC_CLIENT, SECRETS["HTTP_E2E_BC_SECRET"], BC_SCOPE))
                wait(lambda: _price(demo) == 4321.5, 60)
                wait(lambda: _jobs(state, "coupler.notified") == ["succeeded"], 30)  # one job, done by the worker
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                _, stderr = worker.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                _, stderr = worker.communicate()
            servers[0].hooks.close()
        assert "Traceback" not in stderr, stderr
        assert HOOK_SECRET not in stderr


def _change_a_price(demo: HttpDemo, token: str) -> None:
    import httpx

    root = f"{demo.erp_url}/v2.0/{TENANT}/production/api/v2.0/companies({DEMO_COMPANY.id})/"
    with httpx.Client(base_url=root, headers={"Authorization": f"Bearer {token}"}, timeout=10) as bc:
        item = bc.get("items", params={"$filter": "number eq '1896-S'"}).json()["value"][0]
        changed = bc.patch(
            f"items({item['id']})", json={"unitPrice": 4321.5}, headers={"If-Match": item["@odata.etag"]}
        )
        assert changed.status_code == 200, changed.text


def _price(demo: HttpDemo) -> float:
    with closing(sqlite3.connect(demo.crm)) as db:
        (value,) = db.execute("SELECT price FROM product WHERE productnumber = '1896-S'").fetchone()
    return float(value)


def _jobs(state: str, task: str) -> list[str]:
    url = state.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT status::text FROM procrastinate_jobs WHERE task_name = %s ORDER BY id", (task,)
        ).fetchall()
    return [status for (status,) in rows]

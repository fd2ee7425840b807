"""Webhooks end to end: `coupler serve` (its web app, in this process) behind ``[hooks]``, the Business Central test
and Dataverse test servers subscribed to it and notifying it, each receiving what changed in the other.

The handshake answered; `coupler hooks register | status | unregister` (the real console script); an item's price
changed in Business Central reaching Dynamics 365 Sales through a notification and back; forged, replayed and
malformed requests refused, logged without the secret and counted at /metrics; subscriptions renewed before they
expire and subscribed again when lost."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from coupler.domain.mapping import Side
from coupler.entrypoints.web.hooks import HookReceiver
from coupler.testing import TokenIssuer
from coupler.testing.business_central.webhooks import HookSettings
from coupler.testing.demo import DEMO_COMPANY
from e2e.cli.support import run_coupler

from .hooks_support import free_port, serving, wait
from .support import BC_CLIENT, DV_CLIENT, SECRETS, TENANT, HttpDemo

pytestmark = pytest.mark.e2e

HOOK_SECRET = "the-webhooks-shared-secret-0042"
ENV = {**SECRETS, "COUPLER_HOOKS_SECRET": HOOK_SECRET}
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
FAST = HookSettings(delay=0.1, retry_delays=(0.2, 0.2), handshake_timeout=5.0, send_timeout=5.0)


def hooks_section(url: str) -> str:
    return f'\n[hooks]\nurl = "{url}"\nsecret = "${{COUPLER_HOOKS_SECRET}}"\nwindow = "1s"\n'


@dataclass
class Hooked:
    demo: HttpDemo
    url: str
    """Where `coupler serve` listens."""
    bc: Any
    """The Business Central test server (``.hooks``: its subscriptions)."""
    dv: Any
    """The Dataverse test server (``.webhooks``: its endpoints and steps; ``.notifier``: what it sent)."""
    receiver: HookReceiver
    token: str
    issuer: TokenIssuer

    def bc_api(self) -> httpx.Client:
        root = f"{self.demo.erp_url}/v2.0/{TENANT}/production/api/v2.0/companies({DEMO_COMPANY.id})/"
        return httpx.Client(base_url=root, headers={"Authorization": f"Bearer {self.token}"}, verify=False, timeout=10)


@pytest.fixture
def hooked(
    start_demo: Callable[..., HttpDemo], issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hooked]:
    monkeypatch.setenv("COUPLER_HOOKS_SECRET", HOOK_SECRET)
    monkeypatch.setattr(HookReceiver, "first_check", 3600.0)  # the tests check when they mean to
    servers: list[Any] = []

    crm: list[Any] = []

    def keep(app: Any) -> Any:
        app.server.hooks.settings = FAST
        servers.append(app.server)
        return app

    def keep_crm(app: Any) -> Any:
        crm.append(app.server)
        return app

    demo = start_demo(wrap_erp=keep, wrap_crm=keep_crm)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with demo.config.open("a", encoding="utf-8") as file:
        file.write(hooks_section(url))
    try:
        with serving(demo.config, port) as app:
            token = issuer.issue(BC_CLIENT, SECRETS["HTTP_E2E_BC_SECRET"], BC_SCOPE)
            yield Hooked(
                demo=demo, url=url, bc=servers[0], dv=crm[0], receiver=app.state.hooks, token=token, issuer=issuer
            )
    finally:
        servers[0].hooks.close()


def _coupler(hooked: Hooked, *args: str, expect: int = 0) -> str:
    result = run_coupler(*args, "--config", hooked.demo.config, cwd=hooked.demo.directory, env=ENV, expect=expect)
    assert HOOK_SECRET not in result.output
    return result.stdout


def _notification(hooked: Hooked, **changes: Any) -> dict[str, Any]:
    item = {
        "subscriptionId": "0d2d8a1c3a0e4b5c9a7e1f2b3c4d5e6f",
        "clientState": HOOK_SECRET,
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource": f"api/v2.0/companies({DEMO_COMPANY.id})/items(26814998-936a-401c-81c1-0e848a64971d)",
        "changeType": "updated",
        "lastModifiedDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {"value": [{**item, **changes}]}


def test_the_handshake_is_answered_with_the_token(hooked: Hooked) -> None:
    for method in ("GET", "POST"):
        answer = httpx.request(method, f"{hooked.url}/hooks/local", params={"validationToken": "tok-123"})
        assert answer.status_code == 200 and answer.text == "tok-123", method
        assert answer.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{hooked.url}/hooks/local").status_code == 400
    assert httpx.get(f"{hooked.url}/hooks/elsewhere", params={"validationToken": "x"}).status_code == 404


def test_register_status_and_unregister_with_the_cli(hooked: Hooked) -> None:
    registered = json.loads(_coupler(hooked, "hooks", "register", "--json"))
    assert registered == [
        {"system": "Business Central (test server)", "tables": 4, "url": f"{hooked.url}/hooks/local"},
        {"system": "Dynamics 365 Sales (test server)", "tables": 4, "url": f"{hooked.url}/hooks/integration"},
    ]
    assert {s.table for s in hooked.bc.hooks.subscriptions.values()} == {"currencies", "customers", "contacts", "items"}
    status = json.loads(_coupler(hooked, "hooks", "status", "--json"))
    bc = [s for s in status if s["system"] == "Business Central (test server)"]
    assert {(s["table"], s["state"]) for s in bc} == {
        (table, "active") for table in ("Currency", "Customer", "Contact", "Item")
    }
    assert all(s["expires_in"].startswith("2 d 23 h") for s in bc), status
    sales = {s["table"] for s in status if s["system"] == "Dynamics 365 Sales (test server)"}
    assert len(sales) == 4, status  # Dataverse's steps never expire
    table = _coupler(hooked, "hooks", "status")
    assert "Business Central (test server)" in table and "Customer" in table and "customers" not in table
    assert json.loads(_coupler(hooked, "hooks", "register", "--json")) == registered  # again: nothing doubled
    assert len(hooked.bc.hooks.subscriptions) == 4
    assert json.loads(_coupler(hooked, "hooks", "unregister", "--json")) == [
        {"system": "Business Central (test server)", "removed": 4},
        {"system": "Dynamics 365 Sales (test server)", "removed": 4},
    ]
    assert hooked.bc.hooks.subscriptions == {}
    after = json.loads(_coupler(hooked, "hooks", "status", "--json"))
    assert len(after) == 8 and {s["state"] for s in after} == {"missing"}, after


def test_register_says_when_coupler_serve_does_not_answer_the_call_back(hooked: Hooked) -> None:
    text = hooked.demo.config.read_text(encoding="utf-8").replace(hooked.url, f"http://127.0.0.1:{free_port()}")
    elsewhere = hooked.demo.config.with_name("elsewhere.toml")
    elsewhere.write_text(text, encoding="utf-8")
    result = run_coupler("hooks", "register", "--config", elsewhere, cwd=hooked.demo.directory, env=ENV, expect=1)
    assert "Is `coupler serve` running and reachable at http://127.0.0.1:" in result.stderr, result.stderr
    assert HOOK_SECRET not in result.output and hooked.bc.hooks.subscriptions == {}


def test_a_change_in_business_central_reaches_sales_through_a_notification(hooked: Hooked) -> None:
    with hooked.demo.open() as coupler:
        assert coupler.match("ITEM-PRODUCT", create_missing=True, sync_after=Side.LOCAL).ok
    _coupler(hooked, "hooks", "register")
    with hooked.bc_api() as bc:
        item = bc.get("items", params={"$filter": "number eq '1896-S'"}).json()["value"][0]
        changed = bc.patch(
            f"items({item['id']})", json={"unitPrice": 4321.5}, headers={"If-Match": item["@odata.etag"]}
        )
        assert changed.status_code == 200, changed.text

    def price() -> float:
        with closing(sqlite3.connect(hooked.demo.crm)) as db:
            (value,) = db.execute("SELECT price FROM product WHERE productnumber = '1896-S'").fetchone()
        return float(value)

    wait(lambda: price() == 4321.5)
    assert hooked.bc.hooks.sent and hooked.receiver.started[-1].mapping == "ITEM-PRODUCT"
    assert hooked.receiver.started[-1].keys == (item["id"],)


def test_a_change_in_sales_reaches_business_central_through_a_notification(hooked: Hooked) -> None:
    with hooked.demo.open() as coupler:
        assert coupler.match("ITEM-PRODUCT", create_missing=True, sync_after=Side.LOCAL).ok
    _coupler(hooked, "hooks", "register")
    dv_token = issue_dataverse_token(hooked)
    root = f"{hooked.demo.crm_url}/api/data/v9.2/"
    with httpx.Client(base_url=root, headers={"Authorization": f"Bearer {dv_token}"}, verify=False, timeout=10) as dv:
        product = dv.get("products", params={"$filter": "productnumber eq '1896-S'"}).json()["value"][0]
        changed = dv.patch(f"products({product['productid']})", json={"price": 1234.25})
        assert changed.status_code == 204, changed.text

    def price() -> float:
        with closing(sqlite3.connect(hooked.demo.erp)) as db:
            (value,) = db.execute('SELECT "unitPrice" FROM items WHERE number = ?', ("1896-S",)).fetchone()
        return float(value)

    wait(lambda: price() == 1234.25)
    assert hooked.receiver.started[-1].mapping == "ITEM-PRODUCT"
    assert hooked.receiver.started[-1].keys == (product["productid"],)


def issue_dataverse_token(hooked: Hooked) -> str:
    issuer: TokenIssuer = hooked.issuer
    return issuer.issue(DV_CLIENT, SECRETS["HTTP_E2E_DATAVERSE_SECRET"], f"{hooked.demo.crm_url}/.default")


def test_forged_replayed_and_malformed_notifications_are_refused_and_logged(
    hooked: Hooked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="coupler.hooks")
    route = f"{hooked.url}/hooks/local"
    forged = httpx.post(route, json=_notification(hooked, clientState="guessed-secret"))
    assert (forged.status_code, forged.content) == (401, b"")
    stale = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert httpx.post(route, json=_notification(hooked, expirationDateTime=stale)).status_code == 401
    malformed = httpx.post(route, content=b"{not json", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.content) == (400, b"")
    shapeless = {"value": [{"clientState": HOOK_SECRET, "changeType": "updated"}]}  # no resource, no expiry
    assert httpx.post(route, json=shapeless).status_code == 400
    assert httpx.post(route, json=_notification(hooked)).status_code == 200  # the secret: taken
    logged = caplog.text
    assert "without the subscription's client state" in logged and "replayed" in logged and "not JSON" in logged
    assert HOOK_SECRET not in logged and "guessed-secret" not in logged
    wait(lambda: bool(hooked.receiver.started))  # only the genuine notification is synchronized
    assert [(t.mapping, t.keys) for t in hooked.receiver.started] == [
        ("ITEM-PRODUCT", ("26814998-936a-401c-81c1-0e848a64971d",))
    ]
    scraped = httpx.get(f"{hooked.url}/metrics")
    assert scraped.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    }
    bc = ("system", "Business Central (test server)")
    counted = {
        outcome: samples[("coupler_notifications_total", (("outcome", outcome), bc))]
        for outcome in ("taken", "forged", "malformed", "unavailable")
    }
    assert counted == {"taken": 1, "forged": 2, "malformed": 2, "unavailable": 0}
    sales = ("system", "Dynamics 365 Sales (test server)")
    assert samples[("coupler_notifications_total", (("outcome", "forged"), sales))] == 0
    assert samples[("coupler_notified_synchronizations_total", (("mapping", "ITEM-PRODUCT"), bc))] == 1


def test_subscriptions_are_renewed_before_they_expire_and_subscribed_again_when_lost(hooked: Hooked) -> None:
    _coupler(hooked, "hooks", "register")
    kept = hooked.bc.hooks.subscriptions
    by_table = {s.table: s for s in kept.values()}
    soon = datetime.now(UTC) + timedelta(hours=2)  # within the default renew_before (1 day)
    by_table["customers"].expires = soon
    lost = by_table["items"].id
    del kept[lost]  # the service deleted it (its notifications kept failing)
    hooked.receiver.check()
    now = {s.table: s for s in kept.values()}
    assert set(now) == {"currencies", "customers", "contacts", "items"} and now["items"].id != lost
    assert now["customers"].expires > datetime.now(UTC) + timedelta(days=2)
    assert now["customers"].version == 2 and now["currencies"].version == 1  # only what expired soon was renewed

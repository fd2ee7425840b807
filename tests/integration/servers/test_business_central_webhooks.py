"""Business Central's webhook subscriptions on the test server, through the connector: the handshake on create and
renewal, If-Match on PATCH, three days' expiry, notifications batched after the delay with the client state, a
``collection`` above the threshold, retries on 408/429/5xx, the subscription deleted after the last failed attempt
or on any other answer, and nothing sent for an expired subscription."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.domain.errors import PermanentConnectorError
from coupler.ports.webhooks import Change, Notified, SendsNotifications
from coupler.testing import business_central_app, serve
from coupler.testing.business_central.webhooks import HookSettings
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY
from integration.servers.conftest import BC_ROOT, COMPANY

SECRET = "a-shared-secret-of-some-length"
FAST = HookSettings(delay=0.2, retry_delays=(0.05, 0.05), handshake_timeout=2.0, send_timeout=2.0)


@dataclass
class Receiver:
    """coupler's side as the service sees it: answers the handshake (unless told otherwise) and notifications with
    the statuses queued in ``answers`` (then 200)."""

    url: str = ""
    echo: bool = True
    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    handshakes: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        token = request.query_params.get("validationToken")
        if token is not None:
            self.handshakes += 1
            response: Response = PlainTextResponse(token if self.echo else "no")
        else:
            status = self.answers.pop(0) if self.answers else 200
            if status == 200:
                self.received.append(await request.json())
                self.arrived.set()
            response = Response(status_code=status)
        await response(scope, receive, send)


@dataclass
class Hooks:
    connector: BusinessCentralConnector
    receiver: Receiver
    server: Any
    client: httpx.Client


@pytest.fixture
def hooks(demo_dir: Path) -> Iterator[Hooks]:
    app = business_central_app(
        f"sqlite:///{demo_dir / 'erp.db'}", companies=[DEMO_COMPANY], tables=DEMO_BC_TABLES, hooks=FAST
    )
    receiver = Receiver()
    with serve(app) as url, serve(receiver) as hook_url, httpx.Client(base_url=url + BC_ROOT, timeout=10) as client:
        receiver.url = f"{hook_url}/hooks/local"
        connector = BusinessCentralConnector(HttpClient(url + BC_ROOT, system="ERP"), company=DEMO_COMPANY.name)
        yield Hooks(connector=connector, receiver=receiver, server=app.server, client=client)
        app.server.hooks.close()
        connector.close()


def _customer(hooks: Hooks, index: int = 0) -> dict[str, Any]:
    rows = hooks.client.get(COMPANY + "customers", params={"$orderby": "number", "$top": "5"}).json()["value"]
    return dict(rows[index])


def _rename(hooks: Hooks, customer: dict[str, Any], name: str) -> None:
    answer = hooks.client.patch(
        f"{COMPANY}customers({customer['id']})", json={"displayName": name}, headers={"If-Match": "*"}
    )
    assert answer.status_code == 200, answer.text


def _wait(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_connector_sends_notifications() -> None:
    assert issubclass(BusinessCentralConnector, SendsNotifications)


def test_subscribe_makes_the_handshake_and_expires_after_three_days(hooks: Hooks) -> None:
    before = datetime.now(UTC)
    made = hooks.connector.subscribe(["customers", "items"], url=hooks.receiver.url, secret=SECRET)
    assert [s.table for s in made] == ["customers", "items"] and hooks.receiver.handshakes == 2
    for subscription in made:
        assert subscription.expires is not None
        assert before + timedelta(days=3) - timedelta(seconds=2) <= subscription.expires
        assert subscription.expires <= datetime.now(UTC) + timedelta(days=3, seconds=2)
    listed = hooks.connector.subscriptions(url=hooks.receiver.url)
    assert sorted(s.table for s in listed) == ["customers", "items"]
    row = hooks.client.get("subscriptions").json()["value"][0]
    assert row["clientState"] == SECRET and row["resource"].startswith(f"/api/v2.0/companies({DEMO_COMPANY.id})/")
    again = hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)  # renewed, not doubled
    assert len(hooks.connector.subscriptions(url=hooks.receiver.url)) == 2 and again[0].id in {s.id for s in listed}


def test_a_url_that_does_not_echo_the_token_is_refused(hooks: Hooks) -> None:
    hooks.receiver.echo = False
    with pytest.raises(PermanentConnectorError, match="validation token"):
        hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    assert hooks.client.get("subscriptions").json()["value"] == []


def test_renewal_needs_if_match_and_makes_the_handshake_again(hooks: Hooks) -> None:
    (made,) = hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    body = {"notificationUrl": hooks.receiver.url, "resource": f"/api/v2.0/companies({DEMO_COMPANY.id})/customers"}
    refused = hooks.client.patch(f"subscriptions('{made.id}')", json=body)
    assert refused.status_code == 400 and "concurrency token" in refused.text
    hooks.server.hooks.subscriptions[made.id].expires = datetime.now(UTC) + timedelta(hours=1)
    renewed = hooks.connector.renew(made, secret=SECRET)
    assert renewed.expires is not None and renewed.expires > datetime.now(UTC) + timedelta(days=2)
    assert hooks.receiver.handshakes == 2
    hooks.receiver.echo = False
    with pytest.raises(PermanentConnectorError):
        hooks.connector.renew(made, secret=SECRET)
    assert hooks.connector.unsubscribe(url=hooks.receiver.url) == 1
    assert hooks.connector.subscriptions(url=hooks.receiver.url) == []


def test_changes_are_sent_together_after_the_delay_with_the_client_state(hooks: Hooks) -> None:
    hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    first, second = _customer(hooks, 0), _customer(hooks, 1)
    _rename(hooks, first, "Renamed once")
    _rename(hooks, first, "Renamed twice")
    _rename(hooks, second, "Renamed too")
    _wait(hooks.receiver.arrived.is_set)
    (body,) = hooks.receiver.received
    assert {i["clientState"] for i in body["value"]} == {SECRET}
    assert {i["changeType"] for i in body["value"]} == {"updated"}
    got = hooks.connector.notifications({}, httpx.Response(200, json=body).content, secret=SECRET)
    assert sorted(got, key=lambda n: str(n.key)) == sorted(
        [Notified(table="customers", change=Change.UPDATED, key=k) for k in (first["id"], second["id"])],
        key=lambda n: str(n.key),
    )


def test_more_changes_than_the_threshold_are_one_collection(hooks: Hooks) -> None:
    hooks.server.hooks.settings = HookSettings(delay=0.3, max_notifications=2, retry_delays=())
    hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    for index in range(3):
        _rename(hooks, _customer(hooks, index), f"Bulk {index}")
    _wait(hooks.receiver.arrived.is_set)
    (item,) = hooks.receiver.received[0]["value"]
    assert item["changeType"] == "collection" and "$filter=lastModifiedDateTime" in item["resource"]
    raw = httpx.Response(200, json=hooks.receiver.received[0]).content
    assert hooks.connector.notifications({}, raw, secret=SECRET) == [Notified(table="customers", change=Change.MANY)]


def test_a_failed_notification_is_retried(hooks: Hooks) -> None:
    hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    hooks.receiver.answers = [503, 429]
    _rename(hooks, _customer(hooks), "Retried")
    _wait(hooks.receiver.arrived.is_set)
    assert len(hooks.receiver.received) == 1 and hooks.server.hooks.dropped == []


@pytest.mark.parametrize("answers", [[400], [500, 500, 500]], ids=["not retried", "retries exhausted"])
def test_the_subscription_is_deleted_when_notifications_keep_failing(hooks: Hooks, answers: list[int]) -> None:
    (made,) = hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    hooks.receiver.answers = list(answers)
    _rename(hooks, _customer(hooks), "Lost")
    _wait(lambda: hooks.server.hooks.dropped == [made.id])
    assert hooks.receiver.answers == [] and hooks.connector.subscriptions(url=hooks.receiver.url) == []


def test_an_expired_subscription_sends_nothing_and_is_gone(hooks: Hooks) -> None:
    (made,) = hooks.connector.subscribe(["customers"], url=hooks.receiver.url, secret=SECRET)
    hooks.server.hooks.clock = lambda: datetime.now(UTC) + timedelta(days=3, seconds=1)
    _rename(hooks, _customer(hooks), "Too late")
    time.sleep(FAST.delay + 0.3)
    assert hooks.receiver.received == [] and hooks.connector.subscriptions(url=hooks.receiver.url) == []
    assert made.id not in hooks.server.hooks.subscriptions


def test_one_post_carries_the_changes_of_every_subscription_at_the_url(hooks: Hooks) -> None:
    hooks.connector.subscribe(["customers", "items"], url=hooks.receiver.url, secret=SECRET)
    _rename(hooks, _customer(hooks), "Customer changed")
    item = hooks.client.get(COMPANY + "items", params={"$top": "1"}).json()["value"][0]
    changed = hooks.client.patch(f"{COMPANY}items({item['id']})", json={"unitPrice": 7.5}, headers={"If-Match": "*"})
    assert changed.status_code == 200, changed.text
    _wait(hooks.receiver.arrived.is_set)
    (body,) = hooks.receiver.received
    raw = httpx.Response(200, json=body).content
    assert {n.table for n in hooks.connector.notifications({}, raw, secret=SECRET)} == {"customers", "items"}
    assert len({i["subscriptionId"] for i in body["value"]}) == 2


def test_a_handshake_answered_too_late_is_refused(hooks: Hooks) -> None:
    hooks.server.hooks.settings = HookSettings(handshake_timeout=0.2)
    slow = Receiver()

    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(1.0)
        await slow(scope, receive, send)

    with serve(late) as url, pytest.raises(PermanentConnectorError, match="validation token"):
        hooks.connector.subscribe(["customers"], url=f"{url}/hooks/local", secret=SECRET)
    assert hooks.client.get("subscriptions").json()["value"] == []

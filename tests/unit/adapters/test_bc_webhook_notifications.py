"""Business Central's notifications as the connector reads them: a good one, one without the client state (forged),
one of an expired subscription (replayed) and ones that are no notification (malformed); the handshake's token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.ports.webhooks import Change, Forged, Malformed, Notified

ROOT = "https://bc.example/v2.0/tenant/production/api/v2.0"
COMPANY = "b18aed47-c385-49d2-b954-dbdf8ad71780"
SECRET = "the-client-state-secret"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Connector(BusinessCentralConnector):
    def webhook_clock(self) -> datetime:
        return NOW


@pytest.fixture
def connector() -> Connector:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/companies")
        return httpx.Response(200, json={"value": [{"id": COMPANY, "name": "CRONUS", "displayName": "CRONUS"}]})

    return Connector(HttpClient(ROOT, system="ERP", transport=httpx.MockTransport(handler)), company="CRONUS")


def item(**changes: Any) -> dict[str, Any]:
    base = {
        "subscriptionId": "webhookCustomersId",
        "clientState": SECRET,
        "expirationDateTime": "2026-03-04T12:50:30Z",
        "resource": f"api/v2.0/companies({COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)",
        "changeType": "created",
        "lastModifiedDateTime": "2026-03-02T11:54:26.057Z",
    }
    return {**base, **changes}


def body(*items: dict[str, Any]) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def test_a_good_notification(connector: Connector) -> None:
    got = connector.notifications(
        {},
        "\ufeff".encode()
        + body(  # versions before 19 sent a byte order mark
            item(),
            item(
                resource=f"/api/v2.0/companies({COMPANY})/items(26814998-936a-401c-81c1-0e848a64971d)",
                changeType="updated",
            ),
            item(changeType="deleted"),
            item(
                resource=f"/api/v2.0/companies({COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-03-02T11:00:00Z",
                changeType="collection",
            ),
            item(resource="api/v2.0/companies(7dbba574-5f69-4167-a43e-fb975045de15)/customers(x)"),  # another company
        ),
        secret=SECRET,
    )
    key = "130bbd17-dbb9-4790-9b12-2b0e9c9d22c3"
    assert got == [
        Notified(table="customers", change=Change.CREATED, key=key),
        Notified(table="items", change=Change.UPDATED, key="26814998-936a-401c-81c1-0e848a64971d"),
        Notified(table="customers", change=Change.DELETED, key=key),
        Notified(table="customers", change=Change.MANY),
    ]


@pytest.mark.parametrize(
    "sent",
    [item(clientState="guessed"), item(clientState=None), {k: v for k, v in item().items() if k != "clientState"}],
    ids=["wrong", "null", "missing"],
)
def test_a_notification_without_the_secret_is_forged(connector: Connector, sent: dict[str, Any]) -> None:
    with pytest.raises(Forged) as raised:
        connector.notifications({}, body(item(), sent), secret=SECRET)
    assert not isinstance(raised.value, Malformed) and SECRET not in str(raised.value)


def test_a_notification_of_an_expired_subscription_is_a_replay(connector: Connector) -> None:
    stale = (NOW - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(Forged, match="replayed") as raised:
        connector.notifications({}, body(item(expirationDateTime=stale)), secret=SECRET)
    assert not isinstance(raised.value, Malformed)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"value": []}',
        b'{"value": "x"}',
        body(item(changeType="renamed")),
        body(item(resource="api/v2.0/customers")),
        body(item(expirationDateTime="soon")),
        body(item(resource=f"api/v2.0/companies({COMPANY})/customers")),  # a single change names its record
    ],
)
def test_what_is_no_notification_is_malformed(connector: Connector, raw: bytes) -> None:
    with pytest.raises(Malformed):
        connector.notifications({}, raw, secret=SECRET)


def test_the_handshake_echoes_the_validation_token(connector: Connector) -> None:
    assert connector.handshake({"validationToken": "abc-123"}) == "abc-123"
    assert connector.handshake({}) is None and connector.handshake({"validationToken": ""}) is None
    assert connector.handshake({"validationToken": "x" * 5000}) is None

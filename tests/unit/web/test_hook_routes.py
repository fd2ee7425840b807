"""The webhook routes over a fake web state: the handshake, a notification taken and handed over as one job per
mapping (the queue's ``coupler.notified`` with its arguments), and the answers that are not 200: 401 forged, 400
malformed or too large, 404 for what is not a side or without ``[hooks]``, 503 while the system cannot be reached
(Business Central sends again; any other answer would make it delete the subscription). Each request is counted by
its outcome through the telemetry, and each synchronization started."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.queue.client import Work
from coupler.config.hooks import HookSettings
from coupler.domain.errors import ConnectorError
from coupler.domain.mapping import Side
from coupler.entrypoints.web import hooks
from coupler.entrypoints.web.hooks import MAX_BODY, HookReceiver
from coupler.ports.telemetry import NotificationOutcome, Telemetry
from unit.services.conftest import customer_mapping

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

COMPANY = "b18aed47-c385-49d2-b954-dbdf8ad71780"
SECRET = "the-secret-for-the-routes"
SETTINGS = HookSettings(
    url="https://coupler.example.com",
    secret=SecretStr(SECRET),
    renew_before=timedelta(days=1),
    window=timedelta(0),
    check_every=timedelta(minutes=10),
)


class Counted(Telemetry):
    def __init__(self) -> None:
        self.systems: tuple[str, ...] = ()
        self.received: list[tuple[str, NotificationOutcome]] = []
        self.started: list[tuple[str, str]] = []

    def receiving_notifications(self, systems: tuple[str, ...]) -> None:
        self.systems = systems

    def notification_received(self, system: str, outcome: NotificationOutcome) -> None:
        self.received.append((system, outcome))

    def notified_sync_started(self, system: str, mapping: str) -> None:
        self.started.append((system, mapping))


class FakeState:
    def __init__(self, reachable: bool = True) -> None:
        def companies(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"value": [{"id": COMPANY, "name": "CRONUS", "displayName": "CRONUS"}]})

        client = HttpClient("https://bc.example/api/v2.0", system="ERP", transport=httpx.MockTransport(companies))
        self.connector = BusinessCentralConnector(client, company="CRONUS")
        self.reachable = reachable
        self.asked: list[tuple[str, Any]] = []
        self.telemetry = Counted()

    def system_names(self) -> dict[str, str]:
        return {"local": "Business Central", "integration": "Dynamics 365 Sales"}

    @property
    def coupler(self) -> Any:
        if not self.reachable:
            raise ConnectorError("coupler cannot reach its systems: Business Central does not answer")
        systems = SimpleNamespace(
            connector=lambda side: self.connector if side is Side.LOCAL else object(),
            name=lambda side: "Business Central" if side is Side.LOCAL else "Dynamics 365 Sales",
        )
        return SimpleNamespace(systems=systems)

    def background(self, label: str, work: Any, asked: Any) -> None:
        self.asked.append((label, asked))


def client(state: FakeState | None) -> tuple[TestClient, HookReceiver | None]:
    app = FastAPI()
    app.include_router(hooks.router)
    receiver = HookReceiver(state, SETTINGS, [customer_mapping()], renew=False) if state else None  # type: ignore[arg-type]
    app.state.hooks = receiver
    return TestClient(app), receiver


def notification(**changes: Any) -> dict[str, Any]:
    item = {
        "subscriptionId": "s1",
        "clientState": SECRET,
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource": f"api/v2.0/companies({COMPANY})/customers(c-1)",
        "changeType": "updated",
    }
    return {"value": [{**item, **changes}]}


def test_the_handshake_and_a_notification_handed_over_as_one_job() -> None:
    state = FakeState()
    http, receiver = client(state)
    assert receiver is not None
    answer = http.post("/hooks/local?validationToken=abc")
    assert (answer.status_code, answer.text) == (200, "abc")
    assert http.post("/hooks/local", json=notification()).status_code == 200
    second = notification(resource=f"api/v2.0/companies({COMPANY})/customers(c-2)", changeType="created")
    assert http.post("/hooks/local", json=second).status_code == 200
    for targeted in receiver.coalescer.due():
        receiver.dispatch(targeted)
    ((label, asked),) = state.asked
    assert label == "Business Central notified 2 changed records of CUSTOMER"
    assert (asked.work, asked.mapping) == (Work.NOTIFIED, "CUSTOMER")
    assert asked.arguments == {"side": "local", "keys": ["c-1", "c-2"], "everything": False}
    assert json.dumps(asked.arguments)  # a job's arguments are JSON
    assert state.telemetry.received == [("Business Central", NotificationOutcome.TAKEN)] * 2
    assert state.telemetry.started == [("Business Central", "CUSTOMER")]


def test_what_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    state = FakeState()
    http, _ = client(state)
    assert http.post("/hooks/local", json=notification(clientState="wrong")).status_code == 401
    assert http.post("/hooks/local", content=b"<xml/>").status_code == 400
    assert http.post("/hooks/local", content=b"x" * (MAX_BODY + 1)).status_code == 400
    assert http.post("/hooks/integration", json=notification()).status_code == 400  # that side sends none
    assert http.post("/hooks/elsewhere", json=notification()).status_code == 404
    assert SECRET not in caplog.text and "wrong" not in caplog.text
    forged, malformed = NotificationOutcome.FORGED, NotificationOutcome.MALFORMED
    assert state.telemetry.received == [
        ("Business Central", forged),
        ("Business Central", malformed),
        ("Business Central", malformed),
        ("Dynamics 365 Sales", malformed),
    ]  # the route that is no system's is not counted
    assert state.telemetry.started == []
    no_hooks, _ = client(None)
    assert no_hooks.post("/hooks/local", json=notification()).status_code == 404


def test_an_unreachable_system_is_answered_503_so_that_the_service_sends_again() -> None:
    state = FakeState(reachable=False)
    http, _ = client(state)
    assert http.post("/hooks/local", json=notification()).status_code == 503
    assert state.telemetry.received == [("Business Central", NotificationOutcome.UNAVAILABLE)]
    assert http.get("/hooks/local?validationToken=abc").status_code == 503


def test_the_counts_start_at_zero_for_both_systems_when_the_receiver_starts() -> None:
    state = FakeState()
    receiver = HookReceiver(state, SETTINGS, [customer_mapping()], renew=False)  # type: ignore[arg-type]
    receiver.start()
    try:
        assert state.telemetry.systems == ("Business Central", "Dynamics 365 Sales")
    finally:
        receiver.close()

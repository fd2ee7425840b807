"""Dataverse's webhooks end to end: the connector registers a webhook endpoint and steps through the Web API of the
strict test server, the server POSTs a RemoteExecutionContext to a receiver when a row changes (retrying as the
asynchronous service does), and the connector turns what arrived into changes (forged requests:
tests/unit/adapters/test_dataverse_notifications.py)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector
from coupler.adapters.connectors.dataverse.webhooks import HEADER
from coupler.adapters.connectors.http_client import HttpClient
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate
from coupler.ports.webhooks import Change, Notified, SendsNotifications
from coupler.testing import dataverse_app, serve
from coupler.testing.dataverse.notify import WebhookSettings
from coupler.testing.tenant.dataverse import DataverseTenant, dataverse_tenant, guid

ACCOUNTS = TableSpec(table="accounts", key="accountid", modified_on="modifiedon")
ADATUM = guid("account:Adatum Corporation")
SECRET = "s3cret-key-of-coupler"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A small web server standing in for ``coupler serve``: records each POST, answers the statuses queued."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with state.arrived:
                status = state.answers.pop(0) if state.answers else 200
                state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                state.arrived.notify_all()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dataverse"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Served:
    connector: DataverseConnector
    server: Any


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> DataverseTenant:
    return dataverse_tenant(tmp_path_factory.mktemp("dataverse-webhooks") / "dataverse.db")


@pytest.fixture
def served(template: DataverseTenant, tmp_path: Path) -> Iterator[Served]:
    copy = Path(shutil.copy(template.db_url.removeprefix("sqlite:///"), tmp_path / "dataverse.db"))
    tenant = replace(template, db_url=f"sqlite:///{copy}")
    settings = WebhookSettings(delay=0.01, retries=2, retry_delay=0.05)
    app = dataverse_app(tenant.db_url, tables=tenant.tables, app_user_id=tenant.app_user_id, webhooks=settings)
    with serve(app) as url:
        client = HttpClient(url + API_PATH, system="Sales", headers=HEADERS)
        connector = DataverseConnector(client, display_name="Sales")
        yield Served(connector, app.server)
        connector.close()
        app.server.notifier.close()


def test_the_connector_sends_notifications(served: Served) -> None:
    assert isinstance(served.connector, SendsNotifications)


def test_subscribe_registers_one_endpoint_and_a_step_per_message_and_table_once(
    served: Served, receiver: Receiver
) -> None:
    connector, registry = served.connector, served.server.webhooks
    subscriptions = connector.subscribe(["accounts", "contacts"], url=receiver.url, secret=SECRET)
    assert sorted(s.table for s in subscriptions) == ["accounts", "contacts"]
    assert all(s.messages == ("Create", "Update", "Delete") and s.expires is None for s in subscriptions)
    [endpoint] = registry.endpoints.values()
    assert (endpoint["contract"], endpoint["authtype"], endpoint["url"]) == (8, 5, receiver.url)
    assert endpoint["authvalue"] == f'<settings><setting name="{HEADER}" value="{SECRET}" /></settings>'
    assert {s.id for s in subscriptions} == {endpoint["serviceendpointid"]}
    steps = list(registry.steps.values())
    assert len(steps) == 6
    assert {(s["stage"], s["mode"], s["asyncautodelete"]) for s in steps} == {(40, 1, True)}
    ids = set(registry.steps)

    again = connector.subscribe(["accounts", "contacts", "account.paymenttermscode"], url=receiver.url, secret="new")
    assert sorted(s.table for s in again) == ["accounts", "contacts"]  # an option set's table has no steps
    assert len(registry.endpoints) == 1 and set(registry.steps) == ids
    [endpoint] = registry.endpoints.values()
    assert 'value="new"' in endpoint["authvalue"]  # the secret is renewed


def test_the_secret_is_never_read_back(served: Served, receiver: Receiver) -> None:
    served.connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    answer = served.connector.client.get_json("serviceendpoints", what="reading")
    assert answer["value"] and all("authvalue" not in row for row in answer["value"])
    assert SECRET not in json.dumps(answer)


def test_a_disabled_or_missing_step_is_put_back(served: Served, receiver: Receiver) -> None:
    connector, registry = served.connector, served.server.webhooks
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    steps = {s["name"]: k for k, s in registry.steps.items()}
    update, delete = steps["coupler: Update of account"], steps["coupler: Delete of account"]
    connector.client.request("DELETE", f"sdkmessageprocessingsteps({update})", what="removing a step")
    disabled = {"statecode": 1, "statuscode": 2}
    connector.client.request("PATCH", f"sdkmessageprocessingsteps({delete})", json=disabled, what="disabling a step")
    [lost] = connector.subscriptions(url=receiver.url)
    assert lost.messages == ("Create",)

    renewed = connector.renew(lost, secret=SECRET)
    assert renewed.messages == ("Create", "Update", "Delete")
    assert len(registry.steps) == 3
    assert connector.renew(renewed, secret=SECRET) == renewed  # nothing expires: nothing to do


def test_unsubscribe_removes_the_steps_and_the_endpoint(served: Served, receiver: Receiver) -> None:
    connector, registry = served.connector, served.server.webhooks
    connector.subscribe(["accounts", "contacts"], url=receiver.url, secret=SECRET)
    connector.subscribe(["accounts"], url=receiver.url + "/other", secret=SECRET)
    assert connector.unsubscribe(url=receiver.url) == 2
    assert connector.subscriptions(url=receiver.url) == []
    assert [e["url"] for e in registry.endpoints.values()] == [receiver.url + "/other"]  # another URL's stays
    assert len(registry.steps) == 3
    assert connector.unsubscribe(url=receiver.url) == 0


def test_a_change_arrives_as_a_remote_execution_context_with_the_key(served: Served, receiver: Receiver) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    [result] = connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "+1 555 0100"})])
    assert result.error is None
    [sent] = receiver.wait_for(1)
    assert sent.path == "/hooks/dataverse"
    assert sent.headers[HEADER] == SECRET
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-ms-dynamics-entity-name"] == "account"
    assert sent.headers["x-ms-dynamics-request-name"] == "Update"
    assert sent.headers["x-ms-correlation-request-id"]
    context = sent.json()
    assert (context["MessageName"], context["PrimaryEntityName"], context["PrimaryEntityId"]) == (
        "Update",
        "account",
        ADATUM,
    )
    assert (context["Stage"], context["Mode"], context["Depth"]) == (40, 1, 1)
    [target] = context["InputParameters"]
    attributes = {a["key"]: a["value"] for a in target["value"]["Attributes"]}
    assert attributes["telephone1"] == "+1 555 0100"
    assert context["OwningExtension"]["LogicalName"] == "sdkmessageprocessingstep"
    assert context["OwningExtension"]["Id"] in served.server.webhooks.steps
    assert connector.notifications(sent.headers, sent.body, secret=SECRET) == [
        Notified(table="accounts", change=Change.UPDATED, key=ADATUM)
    ]


def test_creates_and_deletes_arrive_too_and_other_tables_stay_silent(served: Served, receiver: Receiver) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    [created] = connector.insert(ACCOUNTS, [{"name": "Fabrikam"}])
    assert created.error is None
    key = str(created.key)
    connector.insert(TableSpec(table="contacts", key="contactid"), [{"lastname": "Sharp"}])
    [deleted] = connector.delete(ACCOUNTS, [key])
    assert deleted.error is None
    assert served.server.notifier.idle()
    received = receiver.wait_for(2)
    told = [n for r in received for n in connector.notifications(r.headers, r.body, secret=SECRET)]
    assert told == [
        Notified(table="accounts", change=Change.CREATED, key=key),
        Notified(table="accounts", change=Change.DELETED, key=key),
    ]
    delete = received[1].json()
    assert delete["InputParameters"][0]["value"]["LogicalName"] == "account"  # an EntityReference
    assert delete["PostEntityImages"] == []


def test_nothing_is_sent_without_a_subscription_or_after_unsubscribing(served: Served, receiver: Receiver) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    connector.unsubscribe(url=receiver.url)
    connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "1"})])
    assert served.server.notifier.idle()
    assert receiver.received == []


@pytest.mark.parametrize("status", [500, 404, 502])
def test_a_failed_notification_is_sent_again(served: Served, receiver: Receiver, status: int) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    receiver.answers.extend([status])
    connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "2"})])
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert served.server.notifier.idle()
    assert len(receiver.received) == 2
    assert served.server.webhooks.jobs == {}  # succeeded at last: deleted (asyncautodelete)


def test_a_notification_that_keeps_failing_fails_its_system_job(served: Served, receiver: Receiver) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    receiver.answers.extend([500] * 10)
    connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "3"})])
    assert served.server.notifier.idle()
    assert len(receiver.received) == 3  # the first attempt and WebhookSettings.retries
    jobs = connector.client.get_json("asyncoperations", what="reading system jobs")["value"]
    [job] = jobs
    assert (job["statecode"], job["statuscode"], job["retrycount"]) == (3, 31, 2)
    assert job["_owningextensionid_value"] in served.server.webhooks.steps


def test_a_refused_key_suspends_the_job(served: Served, receiver: Receiver) -> None:
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    receiver.answers.extend([401])
    connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "4"})])
    assert served.server.notifier.idle()
    assert len(receiver.received) == 1
    [job] = served.server.webhooks.jobs.values()
    assert (job["statecode"], job["statuscode"]) == (1, 10)


def test_a_bad_gateway_gets_one_more_attempt_before_it_counts_as_a_failure(served: Served, receiver: Receiver) -> None:
    """use-webhooks.md: for 502, 503 and 504 "The WebHook service will make one more attempt"; only then does the
    system job count a failure and wait for its retries."""
    connector = served.connector
    connector.subscribe(["accounts"], url=receiver.url, secret=SECRET)
    receiver.answers.extend([502, 503, 500, 500])
    connector.update(ACCOUNTS, [RecordUpdate(key=ADATUM, values={"telephone1": "5"})])
    assert served.server.notifier.idle()
    assert len(receiver.received) == 4  # 502 and its one more attempt (503), then the two retries
    [job] = served.server.webhooks.jobs.values()
    assert (job["statuscode"], job["retrycount"]) == (31, 2)

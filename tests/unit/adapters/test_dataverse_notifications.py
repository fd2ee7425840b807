"""What the Dataverse connector reads of a webhook request, on a RemoteExecutionContext shaped as the sample of
powerapps-docs use-webhooks.md ("Request Body": an Update of a contact from an asynchronous PostOperation step), and
what it refuses as forged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector
from coupler.adapters.connectors.dataverse.webhooks import HEADER
from coupler.adapters.connectors.http_client import HttpClient
from coupler.ports.webhooks import Change, Forged, Notified

SAMPLE = Path(__file__).parent / "data" / "dataverse_remote_execution_context.json"
SECRET = "s3cret-key-of-coupler"
CONTACT = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
KEYED = {HEADER: SECRET, "x-ms-dynamics-entity-name": "contact", "x-ms-dynamics-request-name": "Update"}


def _definitions(request: httpx.Request) -> httpx.Response:
    """The service's answer to "which entity set has this logical name" (EntityDefinitions)."""
    assert request.url.path.endswith("EntityDefinitions"), request.url
    logical = request.url.params["$filter"].split("'")[1]
    return httpx.Response(200, json={"value": [{"LogicalName": logical, "EntitySetName": f"{logical}s"}]})


@pytest.fixture
def connector() -> Iterator[DataverseConnector]:
    client = HttpClient(
        "https://contoso.crm.dynamics.com" + API_PATH,
        system="Sales",
        headers=HEADERS,
        transport=httpx.MockTransport(_definitions),
    )
    connector = DataverseConnector(client, display_name="Sales")
    yield connector
    connector.close()


def sample(**changes: Any) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(SAMPLE.read_text())
    context.update(changes)
    return {k: v for k, v in context.items() if v is not None}


def body(context: dict[str, Any]) -> bytes:
    return json.dumps(context).encode()


def test_the_sample_is_an_update_of_one_contact(connector: DataverseConnector) -> None:
    assert connector.notifications(KEYED, SAMPLE.read_bytes(), secret=SECRET) == [
        Notified(table="contacts", change=Change.UPDATED, key=CONTACT)
    ]


@pytest.mark.parametrize(
    ("message", "change"),
    [("Create", Change.CREATED), ("Delete", Change.DELETED), ("Assign", Change.UPDATED), ("SetState", Change.UPDATED)],
)
def test_the_message_says_what_changed(connector: DataverseConnector, message: str, change: Change) -> None:
    headers = {**KEYED, "x-ms-dynamics-request-name": message}
    assert connector.notifications(headers, body(sample(MessageName=message)), secret=SECRET) == [
        Notified(table="contacts", change=change, key=CONTACT)
    ]


def test_a_context_cut_down_for_its_size_still_names_the_record(connector: DataverseConnector) -> None:
    """Above 256 KB the service leaves out ParentContext, InputParameters and the images (use-webhooks.md)."""
    cut = sample(ParentContext=None, InputParameters=None, PreEntityImages=None, PostEntityImages=None)
    headers = {**KEYED, "x-ms-dynamics-msg-size-exceeded": ""}
    assert connector.notifications(headers, body(cut), secret=SECRET) == [
        Notified(table="contacts", change=Change.UPDATED, key=CONTACT)
    ]


def test_a_body_with_a_byte_order_mark_is_read(connector: DataverseConnector) -> None:
    told = connector.notifications(KEYED, b"\xef\xbb\xbf" + SAMPLE.read_bytes(), secret=SECRET)
    assert [n.key for n in told] == [CONTACT]


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        ({}, body(sample())),
        ({HEADER: "wrong"}, body(sample())),
        ({HEADER: SECRET[:-1]}, body(sample())),
        ({HEADER: SECRET + " "}, body(sample())),
        ({"x-coupler-secret": SECRET}, body(sample())),
        ({HEADER: SECRET}, b"not json"),
        ({HEADER: SECRET}, b"\xff\xfe"),
        ({HEADER: SECRET}, b"[1, 2]"),
        ({HEADER: SECRET}, b""),
        ({HEADER: SECRET}, body(sample(PrimaryEntityId=None))),
        ({HEADER: SECRET}, body(sample(PrimaryEntityId="ADATUM"))),
        ({HEADER: SECRET}, body(sample(PrimaryEntityId=7))),
        ({HEADER: SECRET}, body(sample(MessageName=None))),
        ({HEADER: SECRET}, body(sample(PrimaryEntityName=None))),
        ({HEADER: SECRET}, body(sample(PrimaryEntityName="Contact; drop"))),
        ({HEADER: SECRET, "x-ms-dynamics-entity-name": "account"}, body(sample())),
    ],
    ids=[
        "no key",
        "wrong key",
        "key cut short",
        "key with more",
        "key in another header",
        "not json",
        "not text",
        "not an object",
        "empty",
        "no record",
        "record not a guid",
        "record a number",
        "no message",
        "no table",
        "table not a name",
        "headers name another table",
    ],
)
def test_a_forged_request_is_refused(connector: DataverseConnector, headers: dict[str, str], payload: bytes) -> None:
    with pytest.raises(Forged):
        connector.notifications(headers, payload, secret=SECRET)


def test_an_empty_secret_accepts_nothing(connector: DataverseConnector) -> None:
    with pytest.raises(Forged):
        connector.notifications({**KEYED, HEADER: ""}, SAMPLE.read_bytes(), secret="")


def test_there_is_no_handshake(connector: DataverseConnector) -> None:
    assert connector.handshake({"validationToken": "abc"}) is None

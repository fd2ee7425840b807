"""The Dataverse test server's webhook registrations (``serviceendpoints``, ``sdkmessageprocessingsteps``) refuse
what the docs say Dataverse refuses, and send with each of the three authentications."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from coupler.testing.dataverse.webhooks import filter_id, message_id
from integration.servers.conftest import Running
from integration.servers.test_dataverse_batch import post_batch

GOOD_HEADER = '<settings><setting name="x-key" value="k&amp;1" /></settings>'


def endpoint(**changes: Any) -> dict[str, Any]:
    body = {"name": "hook", "url": "https://example.com/hook", "contract": 8, "authtype": 5, "authvalue": GOOD_HEADER}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def create_endpoint(dataverse: Running, **changes: Any) -> str:
    response = dataverse.client.post("serviceendpoints", json=endpoint(**changes))
    assert response.status_code == 204, response.text
    return response.headers["odata-entityid"].rsplit("(", 1)[1].rstrip(")")


def step(endpoint_id: str, message: str = "Update", table: str = "account", **changes: Any) -> dict[str, Any]:
    body = {
        "name": f"{message} of {table}",
        "stage": 40,
        "mode": 1,
        "rank": 1,
        "supporteddeployment": 0,
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
        "sdkmessageid@odata.bind": f"/sdkmessages({message_id(message)})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id(message, table)})",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"name": None},
        {"contract": None},
        {"contract": 1},
        {"contract": 11},
        {"url": None},
        {"url": "/relative"},
        {"url": "ftp://example.com/hook"},
        {"authtype": None},
        {"authtype": 2},
        {"authvalue": None},
        {"authvalue": "plain"},
        {"authvalue": "<settings></settings>"},
        {"authvalue": '<settings><setting name="bad header" value="v" /></settings>'},
        {"authvalue": "<settings>" + '<setting name="k" value="v" />' * 80 + "</settings>"},
        {"name": "x" * 257},
        {"colour": "blue"},
        {"contract": "8"},
    ],
)
def test_an_endpoint_the_docs_refuse_is_refused(dataverse: Running, changes: dict[str, Any]) -> None:
    response = dataverse.client.post("serviceendpoints", json=endpoint(**changes))
    assert response.status_code in (400, 404), response.text
    assert dataverse.client.get("serviceendpoints").json()["value"] == []


def test_an_endpoint_keeps_its_key_unreadable(dataverse: Running) -> None:
    key = create_endpoint(dataverse, authtype=4, authvalue="the-code")
    found = dataverse.client.get(f"serviceendpoints({key})").json()
    assert (found["contract"], found["authtype"]) == (8, 4)
    assert "authvalue" not in found
    selected = dataverse.client.get("serviceendpoints", params={"$select": "name,authvalue"}).json()["value"]
    assert selected == [{"name": "hook", "serviceendpointid": key}]
    refused = dataverse.client.patch(f"serviceendpoints({key})", json={"authtype": 5, "authvalue": "plain"})
    assert refused.status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"stage": 20},  # asynchronous only in PostOperation (register-plug-in.md)
        {"stage": 30},  # internal use only
        {"stage": None},
        {"mode": 2},
        {"mode": None},
        {"rank": None},
        {"name": None},
        {"supporteddeployment": None},
        {"sdkmessageid@odata.bind": None},
        {"eventhandler_serviceendpoint@odata.bind": None},
        {"sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id('Create', 'account')})"},
        {"sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({uuid.uuid4()})"},
        {"eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({uuid.uuid4()})"},
        {"sdkmessageid@odata.bind": f"/serviceendpoints({message_id('Update')})"},
        {"statecode": 1},
    ],
)
def test_a_step_the_docs_refuse_is_refused(dataverse: Running, changes: dict[str, Any]) -> None:
    key = create_endpoint(dataverse)
    response = dataverse.client.post("sdkmessageprocessingsteps", json=step(key, **changes))
    assert response.status_code in (400, 404), response.text
    assert dataverse.client.get("sdkmessageprocessingsteps").json()["value"] == []


def test_steps_are_read_with_their_message_and_table_and_go_with_their_endpoint(dataverse: Running) -> None:
    key = create_endpoint(dataverse)
    assert dataverse.client.post("sdkmessageprocessingsteps", json=step(key)).status_code == 204
    params = {
        "$select": "name,stage,mode",
        "$filter": f"_eventhandler_value eq {key}",
        "$expand": "sdkmessageid($select=name),sdkmessagefilterid($select=primaryobjecttypecode)",
    }
    [found] = dataverse.client.get("sdkmessageprocessingsteps", params=params).json()["value"]
    assert found["sdkmessageid"] == {"name": "Update"}
    assert found["sdkmessagefilterid"] == {"primaryobjecttypecode": "account"}
    assert (found["stage"], found["mode"]) == (40, 1)
    assert dataverse.client.delete(f"serviceendpoints({key})").status_code == 204
    assert dataverse.client.get("sdkmessageprocessingsteps").json()["value"] == []  # Delete cascades


def test_every_table_has_the_filters_of_create_update_and_delete(dataverse: Running) -> None:
    params = {
        "$select": "sdkmessagefilterid",
        "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
        "@message": "'Delete'",
        "@table": "'contact'",
    }
    [found] = dataverse.client.get("sdkmessagefilters", params=params).json()["value"]
    assert found["sdkmessagefilterid"] == filter_id("Delete", "contact")
    params["@table"] = "'nosuchtable'"
    assert dataverse.client.get("sdkmessagefilters", params=params).json()["value"] == []


@pytest.fixture
def received() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    seen: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()
    server.server_close()


def test_each_authentication_is_sent_as_the_docs_say(
    dataverse: Running, received: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    url, seen = received
    query = '<settings><setting name="a" value="1" /><setting name="b" value="x y" /></settings>'
    for name, authtype, authvalue in [("key", 4, "the-code"), ("header", 5, GOOD_HEADER), ("query", 6, query)]:
        key = create_endpoint(dataverse, name=name, url=f"{url}/{name}", authtype=authtype, authvalue=authvalue)
        registered = dataverse.client.post("sdkmessageprocessingsteps", json=step(key, "Create", "account"))
        assert registered.status_code == 204
    created = dataverse.client.post("accounts", json={"name": "Northwind"})
    assert created.status_code == 204, created.text
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    by_path = {path.split("?")[0].rsplit("/", 1)[1]: (path, headers) for path, headers in seen}
    assert by_path["key"][0].endswith("/hook/key?code=the-code")
    assert by_path["header"][1]["x-key"] == "k&1"
    assert by_path["query"][0].endswith("/hook/query?a=1&b=x+y")
    assert all(h["x-ms-dynamics-request-name"] == "Create" for _, h in by_path.values())


def test_filtering_attributes_and_disabled_steps_hold_back_updates(
    dataverse: Running, received: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    url, seen = received
    key = create_endpoint(dataverse, url=url)
    body = step(key, "Update", "account", filteringattributes="telephone1")
    assert dataverse.client.post("sdkmessageprocessingsteps", json=body).status_code == 204
    account = dataverse.client.get("accounts", params={"$select": "accountid", "$top": "1"}).json()["value"][0]
    path = f"accounts({account['accountid']})"
    assert dataverse.client.patch(path, json={"name": "Renamed"}).status_code == 204
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    assert seen == []
    assert dataverse.client.patch(path, json={"telephone1": "+1 555 0199"}).status_code == 204
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    assert len(seen) == 1
    [registered] = dataverse.client.get("sdkmessageprocessingsteps").json()["value"]
    disabled = {"statecode": 1, "statuscode": 2}
    step_path = f"sdkmessageprocessingsteps({registered['sdkmessageprocessingstepid']})"
    assert dataverse.client.patch(step_path, json=disabled).status_code == 204
    assert dataverse.client.patch(path, json={"telephone1": "+1 555 0100"}).status_code == 204
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    assert len(seen) == 1


def test_a_changeset_rolled_back_sends_nothing_and_one_committed_sends_each_row(
    dataverse: Running, received: tuple[str, list[tuple[str, dict[str, str]]]]
) -> None:
    url, seen = received
    key = create_endpoint(dataverse, url=url)
    assert dataverse.client.post("sdkmessageprocessingsteps", json=step(key, "Create", "account")).status_code == 204
    failed = post_batch(
        dataverse, [[("POST", "accounts", {"name": "CS one"}), ("POST", "accounts", {"name": "x" * 200})]]
    )
    assert failed[0][0] == 400
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    assert seen == []
    done = post_batch(dataverse, [[("POST", "accounts", {"name": "CS two"}), ("POST", "accounts", {"name": "CS 3"})]])
    assert [status for status, _ in done] == [204, 204]
    assert dataverse.server.notifier.idle()  # type: ignore[attr-defined]
    assert len(seen) == 2

"""The Dataverse connector against MockTransport answers written from the Web API's documented behaviour."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from coupler.adapters.connectors.dataverse import API_PATH, DataverseConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.batch import decode_multipart
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import Condition, TableSpec
from coupler.domain.records import ChangeCursor, RecordUpdate
from coupler.ports.connector import Deletions

SPEC = TableSpec(table="accounts", key="accountid", modified_on="modifiedon")
ME = "99999999-0000-0000-0000-000000000001"
A1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
A2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
A3 = "5a1c7e2b-3f4d-4e6a-8b9c-0d1e2f3a4b5c"
ATTRIBUTES = [
    {"LogicalName": "accountid", "AttributeType": "Uniqueidentifier", "IsPrimaryId": True},
    {
        "LogicalName": "name",
        "AttributeType": "String",
        "MaxLength": 160,
        "RequiredLevel": {"Value": "ApplicationRequired"},
    },
    {"LogicalName": "address1_city", "AttributeType": "String", "MaxLength": 80, "RequiredLevel": {"Value": "None"}},
    {"LogicalName": "ownerid", "AttributeType": "Owner", "Targets": ["systemuser", "team"]},
    {"LogicalName": "primarycontactid", "AttributeType": "Lookup", "Targets": ["contact"]},
    {"LogicalName": "statecode", "AttributeType": "State"},
    {"LogicalName": "modifiedon", "AttributeType": "DateTime"},
    {"LogicalName": "modifiedby", "AttributeType": "Lookup", "Targets": ["systemuser"]},
]
SETS = {"systemuser": "systemusers", "team": "teams", "contact": "contacts", "account": "accounts"}
RELATIONSHIPS = [
    {
        "ReferencingAttribute": "ownerid",
        "ReferencedEntity": "owner",
        "ReferencingEntityNavigationPropertyName": "ownerid",
    },
    {
        "ReferencingAttribute": "primarycontactid",
        "ReferencedEntity": "contact",
        "ReferencingEntityNavigationPropertyName": "primarycontactid",
    },
]
ANNOTATED = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
"""ownerid has two targets (systemuser, team): a read of it asks for the lookuplogicalname annotation."""


class Service:
    """Answers metadata itself and hands every other request to ``handle``; records what was sent."""

    def __init__(self, handle: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handle = handle
        self.sent: list[httpx.Request] = []
        self.who_am_i = 0
        self.user: str | None = ME
        self.bulk = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(API_PATH)
        if path == "EntityDefinitions":
            text = request.url.params["$filter"]
            name = text.split("'")[1]
            if "EntitySetName" in text:
                found = [{"LogicalName": "account", "PrimaryIdAttribute": "accountid"}] if name == "accounts" else []
            else:
                found = [{"LogicalName": name, "EntitySetName": SETS[name]}]
            return httpx.Response(200, json={"value": found})
        if path.startswith("EntityDefinitions(LogicalName='account')/Attributes"):
            return httpx.Response(200, json={"value": ATTRIBUTES})
        if path == "EntityDefinitions(LogicalName='account')/ManyToOneRelationships":
            return httpx.Response(200, json={"value": RELATIONSHIPS})
        if path == "sdkmessagefilters":
            return httpx.Response(200, json={"value": [{"sdkmessagefilterid": A3}] if self.bulk else []})
        if path == "WhoAmI":
            self.who_am_i += 1
            return httpx.Response(200, json={"UserId": self.user} if self.user else {})
        self.sent.append(request)
        return self.handle(request)


def connector(handle: Callable[[httpx.Request], httpx.Response], **kw: Any) -> tuple[DataverseConnector, Service]:
    service = Service(handle)
    client = HttpClient("https://org.example" + API_PATH, system="Sales", transport=httpx.MockTransport(service))
    return DataverseConnector(client, display_name="Sales", **kw), service


def row(key: str, name: str, stamp: str = "2026-01-02T03:04:05Z", etag: str = 'W/"1"', **extra: Any) -> dict[str, Any]:
    return {"@odata.etag": etag, "accountid": key, "name": name, "modifiedon": stamp, **extra}


def test_describe_reads_attribute_metadata() -> None:
    dv, _ = connector(lambda r: httpx.Response(500))
    columns = dv.describe("accounts")
    assert columns is not None
    assert columns["accountid"].primary_key and columns["accountid"].type == "uuid"
    assert columns["name"].type == "string" and columns["name"].max_length == 160 and not columns["name"].nullable
    assert columns["address1_city"].nullable and columns["statecode"].type == "integer"
    assert columns["ownerid"].type == "uuid"
    assert dv.describe("nothing") is None


def test_changed_since_filters_orders_pages_and_follows_next_link_untouched() -> None:
    next_link = "https://org.example/api/data/v9.2/accounts?$skiptoken=%3Ccookie%20page%3D%222%22%3E"

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["Prefer"] == f"odata.maxpagesize=2,{ANNOTATED}"
        if "skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [row(A2, "Two", "2026-01-02T03:04:07Z", _ownerid_value=ME)]})
        params = request.url.params
        assert params["$filter"] == "(statecode eq 0) and (modifiedon gt 2026-01-01T00:00:00.000Z)"
        assert params["$orderby"] == "modifiedon,accountid"
        assert params["$select"].split(",") == [
            "accountid",
            "modifiedon",
            "name",
            "_ownerid_value",
            "statecode",
            "_modifiedby_value",
        ]
        rows = [
            row(A1, "One", _ownerid_value=ME, statecode=0),
            row("11111111-0000-0000-0000-000000000000", "Two", statecode=0),
        ]
        return httpx.Response(200, json={"value": rows, "@odata.nextLink": next_link})

    dv, service = connector(handle)
    spec = TableSpec(
        table="accounts", key="accountid", modified_on="modifiedon", filter=(Condition(field="statecode", value=0),)
    )
    since = ChangeCursor(stamp=datetime(2026, 1, 1, tzinfo=UTC))
    pages = list(dv.changed_since(spec, since, columns=["name", "ownerid"], page_size=2))

    other = "11111111-0000-0000-0000-000000000000"
    assert [[r.key for r in page] for page in pages] == [[A1, other]], "page 2's record has no statecode 0"
    records = pages[0]
    assert records[0].values == {"name": "One", "ownerid": ME}
    assert records[0].version == 'W/"1"' and records[0].modified_on == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert str(service.sent[-1].url) == next_link, "the nextLink is followed as given"


def test_a_cursor_with_a_key_resumes_with_ge_on_its_stamp_and_reads_that_stamp_again() -> None:
    """A filter cannot compare GUIDs in Dataverse's own order: the records sharing the cursor's stamp are read
    again, whatever their key; what a service returns from before the stamp is dropped."""
    stamp = "2026-01-02T03:04:05Z"

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.params["$filter"] == "modifiedon ge 2026-01-02T03:04:05.000Z"
        rows = [row(A3, "Earlier", "2026-01-02T03:04:04Z"), row(A1, "One", stamp), row(A2, "Two", stamp)]
        return httpx.Response(200, json={"value": [*rows, row(A3, "Later", "2026-01-02T03:04:06Z")]})

    dv, _ = connector(handle)
    cursor = ChangeCursor(stamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), key=A2)
    pages = list(dv.changed_since(SPEC, cursor, columns=["name"], page_size=10))
    assert [r.values["name"] for page in pages for r in page] == ["One", "Two", "Later"]


def test_a_synchronization_read_asks_for_big_pages_and_a_small_read_for_what_it_takes() -> None:
    stamps = [f"2026-01-02T03:{i // 60:02d}:{i % 60:02d}Z" for i in range(2500)]
    keys = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(2500)]

    def handle(request: httpx.Request) -> httpx.Response:
        size = int(request.headers["Prefer"].split(",")[0].removeprefix("odata.maxpagesize="))
        rows = [row(k, "n", s) for k, s in zip(keys[:size], stamps[:size], strict=True)]
        more = {"@odata.nextLink": "https://org.example/api/data/v9.2/accounts?$skiptoken=x"} if size < 2500 else {}
        return httpx.Response(200, json={"value": rows, **more})

    dv, service = connector(handle, page_size=5000)
    pages = list(dv.changed_since(SPEC, None, columns=["name"], page_size=1000))
    assert [len(p) for p in pages] == [1000, 1000, 500], "the engine still gets pages of its own size"
    assert [p[0].key for p in pages] == [keys[0], keys[1000], keys[2000]]
    assert [r.headers["Prefer"] for r in service.sent] == ["odata.maxpagesize=5000"], "2500 records, one request"

    service.sent.clear()
    first = next(iter(dv.changed_since(SPEC, None, columns=["name"], page_size=25)))
    assert len(first) == 25
    assert [r.headers["Prefer"] for r in service.sent] == ["odata.maxpagesize=25"], "a first look fetches 25"


def test_read_many_keys_takes_few_requests() -> None:
    keys = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(600)]

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("$batch")
        parts = decode_requests(request)
        answers = []
        for line in parts:
            asked = [k for k in keys if k in line]
            answers.append((200, {"value": [row(k, f"N{k[:8]}") for k in asked]}))
        return batch_answer(answers)

    dv, service = connector(handle, max_filter_length=8000)
    records = dv.read(SPEC, list(reversed(keys)), columns=["name"])

    assert [r.key for r in records] == list(reversed(keys))
    chains = [unquote(part) for request in service.sent for part in decode_requests(request)]
    assert len(chains) == 6, "600 keys: six 'or' chains"
    assert len(service.sent) == 1, "six chains: one $batch (a second would hold fewer than READ_FLOOR, 4)"
    assert any("(accountid eq 00000599-0000-0000-0000-000000000000 or accountid eq 00000598-" in c for c in chains)


def test_update_sends_if_match_and_a_412_is_a_retryable_error_for_that_record_only() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        parts = decode_requests(request)
        assert 'If-Match: W/"5"' in parts[0] and "If-Match: *" in parts[1]
        assert '"ownerid@odata.bind": "/systemusers(' + ME + ')"' in parts[0]
        stale = {"error": {"code": "0x80060882", "message": "The version of the existing record doesn't match"}}
        fresh = row(A2, "B", "2026-03-01T00:00:00Z", etag='W/"9"')
        return batch_answer([(412, stale), (200, fresh)])

    dv, _ = connector(handle)
    results = dv.update(
        SPEC,
        [
            RecordUpdate(key=A1, values={"name": "A", "ownerid": ME}, version='W/"5"'),
            RecordUpdate(key=A2, values={"name": "B"}),
        ],
    )

    assert (
        not results[0].ok and results[0].retryable and "changed in Sales since it was read" in (results[0].error or "")
    )
    assert results[1].ok and results[1].version == 'W/"9"'
    assert results[1].modified_on == datetime(2026, 3, 1, tzinfo=UTC)


def test_create_multiple_is_split_to_isolate_the_bad_row_and_the_others_land() -> None:
    created: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("CreateMultiple"):
            targets = json.loads(request.content)["Targets"]
            assert all(t["@odata.type"] == "Microsoft.Dynamics.CRM.account" for t in targets)
            if any(t["name"] == "" for t in targets):
                error = {"error": {"code": "0x80040203", "message": "name: Required field is empty."}}
                return httpx.Response(400, json=error)
            created.extend(t["accountid"] for t in targets)
            return httpx.Response(200, json={"Ids": [t["accountid"] for t in targets]})
        return httpx.Response(200, json={"value": [row(k, "n", "2026-04-01T00:00:00Z") for k in created]})

    dv, service = connector(handle)
    keys = dv.new_keys(SPEC, 5)
    assert keys is not None
    rows = [{"accountid": k, "name": "" if i == 3 else f"N{i}"} for i, k in enumerate(keys)]
    results = dv.insert(SPEC, rows)

    assert [r.ok for r in results] == [True, True, True, False, True]
    assert results[3].error == "name: Required field is empty. (0x80040203) (Sales, 400)"
    assert [r.key for r in results] == keys
    assert all(r.modified_on == datetime(2026, 4, 1, tzinfo=UTC) for r in results if r.ok)
    assert len(service.sent) <= 8


def test_a_blank_lookup_value_binds_no_record() -> None:
    """Business Central writes a blank code for "none" (a customer in the local currency): no reference, not
    ``/transactioncurrencies()``, which Dataverse refuses."""
    sent: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("CreateMultiple"):
            sent.extend(json.loads(request.content)["Targets"])
            return httpx.Response(200, json={"Ids": [t["accountid"] for t in sent]})
        return httpx.Response(200, json={"value": [row(A1, "A")]})

    dv, _ = connector(handle)
    [result] = dv.insert(SPEC, [{"accountid": A1, "name": "A", "primarycontactid": " "}])
    assert result.ok
    assert sent[0]["primarycontactid@odata.bind"] is None


def test_insert_falls_back_to_batch_when_create_multiple_is_missing() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("CreateMultiple"):
            return httpx.Response(404, json={"error": {"code": "0x8006088a", "message": "Resource not found"}})
        if request.url.path.endswith("$batch"):
            assert request.headers["Prefer"] == "odata.continue-on-error"
            return batch_answer([(201, row(A1, "A", etag='W/"3"')), (400, {"error": {"message": "bad"}})])
        return httpx.Response(200, json={"value": [row(A1, "A", etag='W/"3"')]})  # the stamps, read again

    dv, _ = connector(handle)
    results = dv.insert(SPEC, [{"accountid": A1, "name": "A"}, {"accountid": A2, "name": "B"}])
    assert results[0].ok and results[0].version == 'W/"3"'
    assert results[1].error == "bad (Sales, 400)"


def test_unknown_columns_are_configuration_errors_naming_them() -> None:
    dv, _ = connector(lambda r: httpx.Response(500))
    with pytest.raises(ConfigurationError, match="colour"):
        dv.insert(SPEC, [{"name": "x", "colour": "red"}])
    with pytest.raises(ConfigurationError, match=r"(?s)accounts.*colour"):
        next(
            iter(
                dv.changed_since(
                    TableSpec(table="accounts", key="accountid", filter=(Condition(field="colour", value=1),)),
                    None,
                    columns=["name"],
                    page_size=5,
                )
            )
        )


def test_deletions_come_from_change_tracking_delta_links() -> None:
    delta1 = "https://elsewhere.example/api/data/v9.2/accounts?$select=accountid&$deltatoken=1%2101%2F02%2F2026"
    delta2 = "https://elsewhere.example/api/data/v9.2/accounts?$deltatoken=2"

    def handle(request: httpx.Request) -> httpx.Response:
        assert "odata.track-changes" in request.headers["Prefer"]
        token = request.url.params.get("$deltatoken")
        if token == "1!01/02/2026":
            removed = {
                "@odata.context": "https://org.example/api/data/v9.2/$metadata#accounts/$deletedEntity",
                "id": A1,
                "reason": "deleted",
            }
            return httpx.Response(200, json={"value": [row(A2, "changed"), removed], "@odata.deltaLink": delta2})
        if token == "2":
            return httpx.Response(410, json={"error": {"message": "expired"}})
        assert token is None
        return httpx.Response(200, json={"value": [row(A1, "a")], "@odata.deltaLink": delta1})

    dv, service = connector(handle)
    start = dv.deletions(SPEC, None)
    assert start == Deletions(cursor="accounts:1!01/02/2026", restarted=True), "the first call only starts tracking"
    first = dv.deletions(SPEC, None, cursor=start.cursor)
    assert first == Deletions(keys=(A1,), cursor="accounts:2")
    assert dv.deletions(SPEC, None, cursor=start.cursor) == first, "a token can be read again"
    assert dv.deletions(SPEC, None, cursor=first.cursor) == start, "an expired token starts over at once"
    assert dv.deletions(SPEC, None, cursor="contacts:2") == start, "and so does a cursor of another table"
    hosts = {r.url.host for r in service.sent}
    assert hosts == {"org.example"}, "the cursor holds no URL: every request goes to the configured service"


def test_deletions_refused_for_lack_of_privilege_raise_instead_of_starting_over() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": {"message": "Principal user is missing prvReadAccount"}})

    dv, _ = connector(handle)
    with pytest.raises(PermanentConnectorError, match="prvReadAccount"):
        dv.deletions(SPEC, None, cursor="accounts:7")


def test_records_last_modified_by_coupler_are_marked() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert "_modifiedby_value" in request.url.params["$select"].split(",")
        rows = [row(A1, "a", _modifiedby_value=ME.upper()), row(A2, "b", _modifiedby_value=A1), row(A3, "c")]
        return httpx.Response(200, json={"value": rows})

    dv, service = connector(handle)
    found = {r.key: r.modified_by_self for r in dv.read(SPEC, [A1, A2, A3], columns=["name"])}
    assert found == {A1: True, A2: False, A3: False}
    pages = list(dv.changed_since(SPEC, None, columns=["name"], page_size=10))
    assert [r.modified_by_self for r in pages[0]] == [True, False, False]
    assert [r.url.path.removeprefix(API_PATH) for r in service.sent] == ["accounts", "accounts"]
    assert service.who_am_i == 1, "WhoAmI is asked once per connector"


def test_a_refused_who_am_i_only_leaves_records_unmarked() -> None:
    service = Service(lambda r: httpx.Response(200, json={"value": [row(A1, "a", _modifiedby_value=ME)]}))
    service.user = None  # WhoAmI answers without a UserId
    client = HttpClient("https://org.example" + API_PATH, system="Sales", transport=httpx.MockTransport(service))
    dv = DataverseConnector(client, display_name="Sales")
    assert [r.modified_by_self for r in dv.read(SPEC, [A1], columns=["name"])] == [False]
    assert [r.modified_by_self for r in dv.read(SPEC, [A1], columns=["name"])] == [False]
    assert service.who_am_i == 1, "a refused WhoAmI is not asked again"


# multipart helpers ----------------------------------------------------------------------------------------------
def decode_requests(request: httpx.Request) -> list[str]:
    boundary = request.headers["Content-Type"].split("boundary=")[1]
    text = request.content.decode()
    return [p for p in text.split(f"--{boundary}")[1:] if not p.startswith("--")]


def batch_answer(answers: list[tuple[int, Any]]) -> httpx.Response:
    boundary = "batchresponse_1"
    lines = []
    for status, body in answers:
        lines += [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", ""]
        lines += [f"HTTP/1.1 {status} X", "Content-Type: application/json", "", json.dumps(body)]
    lines += [f"--{boundary}--", ""]
    content = "\r\n".join(lines).encode()
    return httpx.Response(200, content=content, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})


def test_multipart_answers_decode_in_order() -> None:
    response = batch_answer([(204, None), (404, {"error": {"message": "gone"}})])
    results = decode_multipart(response.headers["Content-Type"], response.content)
    assert [r.status for r in results] == [204, 404]
    assert results[1].body == {"error": {"message": "gone"}}


def test_record_url_opens_the_record_in_the_dynamics_web_client() -> None:
    dv, _ = connector(lambda r: httpx.Response(500))
    assert dv.record_url(SPEC, A1) == f"https://org.example/main.aspx?pagetype=entityrecord&etn=account&id={A1}"
    assert dv.record_url(TableSpec(table="nothing", key="id"), A1) is None, "no page for a table it does not have"

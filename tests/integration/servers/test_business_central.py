"""The Business Central server: companies, reads and paging, writes with required If-Match, JSON $batch,
$metadata, enums encoded on the wire and null refused in $filter."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from coupler.testing.demo import DEMO_COMPANY
from integration.servers.conftest import COMPANY, Running


def customers(bc: Running, **params: str) -> list[dict[str, Any]]:
    response = bc.client.get(COMPANY + "customers", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def test_companies_and_an_unknown_company(bc: Running) -> None:
    listed = bc.client.get("companies").json()["value"]
    assert listed == [{"id": DEMO_COMPANY.id, "name": DEMO_COMPANY.name, "displayName": DEMO_COMPANY.display_name}]
    assert bc.client.get(f"companies({DEMO_COMPANY.id})").json()["name"] == DEMO_COMPANY.name
    unknown = bc.client.get("companies(00000000-0000-4000-8000-000000000000)/customers")
    assert unknown.status_code == 404 and "company" in unknown.json()["error"]["message"]


def test_on_premises_paths_work_too(bc: Running) -> None:
    import httpx

    response = httpx.get(f"{bc.url}/BC/api/v2.0/{COMPANY}customers", params={"$top": "1"})
    assert response.status_code == 200 and len(response.json()["value"]) == 1


def test_select_filter_orderby(bc: Running, demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "erp.db") as db:
        expected = [n for (n,) in db.execute("SELECT number FROM customers WHERE city = 'London' ORDER BY number DESC")]
    rows = customers(bc, **{"$select": "number,city", "$filter": "city eq 'London'", "$orderby": "number desc"})
    assert [r["number"] for r in rows] == expected
    assert set(rows[0]) == {"@odata.etag", "id", "number", "city"}
    bad = bc.client.get(COMPANY + "customers", params={"$filter": "colour eq 'red'"})
    assert bad.status_code == 400 and "colour" in bad.json()["error"]["message"]


@pytest.mark.parametrize("top", [None, 7])
def test_paging_with_maxpagesize_and_top(bc: Running, top: int | None) -> None:
    everything = customers(bc, **{"$select": "number"})
    params = {"$select": "number"} | ({"$top": str(top)} if top else {})
    response = bc.client.get(COMPANY + "customers", params=params, headers={"Prefer": "odata.maxpagesize=3"})
    seen: list[str] = []
    while True:
        body = response.json()
        assert len(body["value"]) <= 3
        seen += [r["id"] for r in body["value"]]
        if "@odata.nextLink" not in body:
            break
        response = bc.client.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=3"})
    expected = [r["id"] for r in everything]
    assert seen == (expected[:top] if top else expected)


def test_filter_on_last_modified(bc: Running) -> None:
    assert customers(bc, **{"$filter": "lastModifiedDateTime gt 2999-01-01T00:00:00Z"}) == []
    assert len(customers(bc, **{"$filter": "lastModifiedDateTime gt 2000-01-01T00:00:00Z"})) == len(customers(bc))


def test_post_answers_201_with_the_entity(bc: Running) -> None:
    response = bc.client.post(COMPANY + "customers", json={"displayName": "Alpine Ski House", "city": "Oslo"})
    assert response.status_code == 201
    body = response.json()
    assert body["displayName"] == "Alpine Ski House" and body["number"].startswith("C")
    assert body["@odata.etag"].startswith('W/"') and body["lastModifiedDateTime"].endswith("Z")
    assert response.headers["etag"] == body["@odata.etag"]


def test_patch_requires_if_match_and_checks_it(bc: Running) -> None:
    customer = customers(bc)[0]
    url = f"{COMPANY}customers({customer['id']})"
    missing = bc.client.patch(url, json={"city": "Oslo"})
    assert missing.status_code == 400
    assert "concurrency token" in missing.json()["error"]["message"]
    ok = bc.client.patch(url, json={"city": "Oslo"}, headers={"If-Match": customer["@odata.etag"]})
    assert ok.status_code == 200 and ok.json()["city"] == "Oslo"
    assert ok.json()["@odata.etag"] != customer["@odata.etag"]
    stale = bc.client.patch(url, json={"city": "Bergen"}, headers={"If-Match": customer["@odata.etag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "Request_EntityChanged"
    star = bc.client.patch(url, json={"city": "Bergen"}, headers={"If-Match": "*"})
    assert star.status_code == 200 and star.json()["city"] == "Bergen"


def test_write_errors(bc: Running) -> None:
    too_long = bc.client.post(COMPANY + "customers", json={"city": "x" * 31})
    assert too_long.status_code == 400 and "'city'" in too_long.json()["error"]["message"]
    unknown = bc.client.post(COMPANY + "customers", json={"colour": "red"})
    assert unknown.status_code == 400 and "'colour'" in unknown.json()["error"]["message"]
    blocked = bc.client.post(COMPANY + "customers", json={"blocked": "Sometimes"})
    assert blocked.status_code == 400 and "not a valid enumeration type constant" in blocked.json()["error"]["message"]
    missing = bc.client.patch(
        COMPANY + "customers(00000000-0000-4000-8000-000000000000)", json={"city": "A"}, headers={"If-Match": "*"}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "BadRequest_NotFound"


def test_delete(bc: Running) -> None:
    customer = customers(bc)[0]
    url = f"{COMPANY}customers({customer['id']})"
    assert bc.client.delete(url).status_code == 204
    assert bc.client.delete(url).status_code == 404
    assert bc.client.get(url).status_code == 404


def test_booleans(bc: Running) -> None:
    items = bc.client.get(COMPANY + "items", params={"$select": "number,blocked"}).json()["value"]
    assert all(isinstance(i["blocked"], bool) for i in items)
    item = items[0]
    response = bc.client.patch(f"{COMPANY}items({item['id']})", json={"blocked": True}, headers={"If-Match": "*"})
    assert response.json()["blocked"] is True


def batch(bc: Running, requests: list[dict[str, Any]], *, snapshot: bool = False, at: str = COMPANY) -> Any:
    headers = {"Isolation": "snapshot"} if snapshot else {}
    response = bc.client.post(at + "$batch", json={"requests": requests}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["responses"]


def test_json_batch_runs_each_request(bc: Running) -> None:
    customer = customers(bc)[0]
    responses = batch(
        bc,
        [
            {
                "id": "1",
                "method": "PATCH",
                "url": f"customers({customer['id']})",
                "headers": {"If-Match": "*"},
                "body": {"city": "Lyon"},
            },
            {"id": "2", "method": "POST", "url": "customers", "body": {"city": "x" * 40}},
            {"id": "3", "method": "GET", "url": f"customers({customer['id']})?$select=city"},
        ],
    )
    assert [(r["id"], r["status"]) for r in responses] == [("1", 200), ("2", 400), ("3", 200)]
    assert responses[2]["body"]["city"] == "Lyon"
    at_root = batch(bc, [{"id": "a", "method": "GET", "url": f"{COMPANY}customers?$top=1"}], at="")
    assert at_root[0]["status"] == 200 and len(at_root[0]["body"]["value"]) == 1


def test_snapshot_isolation_rolls_back_everything_on_a_failure(bc: Running) -> None:
    customer = customers(bc)[0]
    responses = batch(
        bc,
        [
            {
                "id": "1",
                "method": "PATCH",
                "url": f"customers({customer['id']})",
                "headers": {"If-Match": "*"},
                "body": {"city": "Lyon"},
            },
            {"id": "2", "method": "POST", "url": "customers", "body": {"city": "x" * 40}},
        ],
        snapshot=True,
    )
    assert [r["status"] for r in responses] == [424, 400]
    assert bc.client.get(f"{COMPANY}customers({customer['id']})").json()["city"] == customer["city"]
    ok = batch(bc, [{"id": "1", "method": "POST", "url": "customers", "body": {"displayName": "Snap"}}], snapshot=True)
    assert ok[0]["status"] == 201


def test_a_batch_of_more_than_100_is_refused(bc: Running) -> None:
    requests = [{"id": str(i), "method": "GET", "url": "customers?$top=1"} for i in range(101)]
    response = bc.client.post(COMPANY + "$batch", json={"requests": requests})
    assert response.status_code == 400 and "100" in response.json()["error"]["message"]


def test_metadata_describes_entity_types_and_sets(bc: Running) -> None:
    response = bc.client.get("$metadata")
    assert response.status_code == 200
    ns = {"edmx": "http://docs.oasis-open.org/odata/ns/edmx", "edm": "http://docs.oasis-open.org/odata/ns/edm"}
    root = ET.fromstring(response.text)
    customer = root.find(".//edm:EntityType[@Name='customer']", ns)
    assert customer is not None
    assert customer.find("edm:Key/edm:PropertyRef", ns).get("Name") == "id"  # type: ignore[union-attr]
    properties = {p.get("Name"): p.attrib for p in customer.findall("edm:Property", ns)}
    assert properties["id"]["Type"] == "Edm.Guid"
    assert properties["displayName"] == {"Name": "displayName", "Type": "Edm.String", "MaxLength": "100"}
    assert properties["lastModifiedDateTime"]["Type"] == "Edm.DateTimeOffset"
    assert properties["creditLimit"]["Type"] == "Edm.Decimal"
    sets = {s.get("Name"): s.get("EntityType") for s in root.findall(".//edm:EntitySet", ns)}
    assert sets["customers"] == "Microsoft.NAV.customer"
    assert sets["salespeoplePurchasers"] == "Microsoft.NAV.salespersonPurchaser"


# enums and null (src/coupler/testing/business_central/values.py) ---------------------------------------------
def test_metadata_declares_enum_types_with_encoded_members(bc: Running) -> None:
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    root = ET.fromstring(bc.client.get("$metadata").text)
    blocked = root.find(".//edm:EnumType[@Name='customerBlocked']", ns)
    assert blocked is not None
    assert [m.get("Name") for m in blocked.findall("edm:Member", ns)] == ["_x0020_", "Ship", "Invoice", "All"]
    item_type = root.find(".//edm:EnumType[@Name='itemType']", ns)
    assert item_type is not None and "Non_x002D_Inventory" in [m.get("Name") for m in item_type]
    customer = root.find(".//edm:EntityType[@Name='customer']/edm:Property[@Name='blocked']", ns)
    assert customer is not None and customer.get("Type") == "Microsoft.NAV.customerBlocked"


def test_enum_values_are_served_encoded_and_filtered_by_encoded_literals(bc: Running, demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "erp.db") as db:
        unblocked = {n for (n,) in db.execute("SELECT number FROM customers WHERE blocked = ''")}
        shipped = {n for (n,) in db.execute("SELECT number FROM customers WHERE blocked IN ('Ship', 'All')")}
    assert unblocked and shipped
    everything = customers(bc, **{"$select": "number,blocked"})
    assert {r["blocked"] for r in everything} == {"_x0020_", "Ship", "Invoice", "All"}
    assert {r["number"] for r in customers(bc, **{"$filter": "blocked eq '_x0020_'"})} == unblocked
    assert {r["number"] for r in customers(bc, **{"$filter": "blocked in ('Ship', 'All')"})} == shipped
    assert len(customers(bc, **{"$filter": "blocked ne '_x0020_'"})) == len(everything) - len(unblocked)
    types = bc.client.get(COMPANY + "items", params={"$select": "type"}).json()["value"]
    assert "Non_x002D_Inventory" in {i["type"] for i in types}


@pytest.mark.parametrize("literal", ["' '", "''", "'Sometimes'", "'_x0020_Ship'"])
def test_an_enum_literal_that_names_no_member_is_refused(bc: Running, literal: str) -> None:
    response = bc.client.get(COMPANY + "customers", params={"$filter": f"blocked eq {literal}"})
    assert response.status_code == 400
    assert "is not a valid enumeration type constant" in response.json()["error"]["message"]


def test_enum_writes_take_encoded_members_and_store_the_blank_as_empty(bc: Running, demo_dir: Path) -> None:
    created = bc.client.post(COMPANY + "customers", json={"displayName": "Shipless", "blocked": "Ship"})
    assert created.status_code == 201 and created.json()["blocked"] == "Ship"
    url = f"{COMPANY}customers({created.json()['id']})"
    cleared = bc.client.patch(url, json={"blocked": "_x0020_"}, headers={"If-Match": "*"})
    assert cleared.status_code == 200 and cleared.json()["blocked"] == "_x0020_"
    with sqlite3.connect(demo_dir / "erp.db") as db:
        assert db.execute("SELECT blocked FROM customers WHERE displayName = 'Shipless'").fetchone() == ("",)
    for refused in (" ", "ship", None):
        answer = bc.client.patch(url, json={"blocked": refused}, headers={"If-Match": "*"})
        assert answer.status_code == 400, refused


@pytest.mark.parametrize(
    "expression", ["city eq null", "city ne null", "null eq city", "number in ('C00010', null)", "not (city eq null)"]
)
def test_null_in_a_filter_is_refused(bc: Running, expression: str) -> None:
    response = bc.client.get(COMPANY + "customers", params={"$filter": expression})
    assert response.status_code == 400
    assert "no null" in response.json()["error"]["message"]
    assert customers(bc, **{"$filter": "city eq ''"}) is not None, "the blank value is the way to ask"

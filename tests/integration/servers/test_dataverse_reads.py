"""Reads of the Dataverse server: $select, $filter operators, $orderby, $top, paging cookies, metadata."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from integration.servers.conftest import Running


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["value"]]


def all_accounts(dataverse: Running) -> list[dict[str, Any]]:
    return list(dataverse.client.get("accounts").json()["value"])


def test_select_returns_only_the_selected_columns_the_key_and_the_etag(dataverse: Running) -> None:
    response = dataverse.client.get("accounts", params={"$select": "name,address1_city"})
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,address1_city)")
    assert len(body["value"]) == 23
    for row in body["value"]:
        assert set(row) == {"@odata.etag", "name", "address1_city", "accountid"}
        assert row["@odata.etag"].startswith('W/"')


@pytest.mark.parametrize(
    ("expression", "sql"),
    [
        ("address1_city eq 'Toronto'", "address1_city = 'Toronto'"),
        ("address1_city eq 'toronto'", "address1_city = 'Toronto'"),
        ("customertypecode ne 3", "customertypecode != 3"),
        ("creditlimit gt 25000", "creditlimit > 25000"),
        ("creditlimit ge 25000", "creditlimit >= 25000"),
        ("creditlimit lt 10000 and address1_city eq 'London'", "creditlimit < 10000 AND address1_city = 'London'"),
        ("creditlimit le 5000", "creditlimit <= 5000"),
        ("address1_city eq 'Toronto' or address1_city eq 'Atlanta'", "address1_city IN ('Toronto', 'Atlanta')"),
        ("startswith(name,'b')", "lower(name) LIKE 'b%'"),
        ("contains(name,'power')", "lower(name) LIKE '%power%'"),
        ("address1_city in ('Amsterdam','Copenhagen')", "address1_city IN ('Amsterdam', 'Copenhagen')"),
        ("creditlimit eq null", "creditlimit IS NULL"),
        ("not (address1_city eq 'London')", "address1_city != 'London' OR address1_city IS NULL"),
    ],
)
def test_filter_operators(dataverse: Running, demo_dir: Path, expression: str, sql: str) -> None:
    with sqlite3.connect(demo_dir / "crm.db") as db:
        expected = {name for (name,) in db.execute(f"SELECT name FROM account WHERE {sql}")}
    assert expected, "the example should match something"
    response = dataverse.client.get("accounts", params={"$select": "name", "$filter": expression})
    assert set(names(response)) == expected


def test_filter_on_modifiedon_and_on_a_lookup_value(dataverse: Running) -> None:
    account = all_accounts(dataverse)[0]
    owner = account["_ownerid_value"]
    response = dataverse.client.get("accounts", params={"$filter": f"_ownerid_value eq {owner}", "$select": "name"})
    assert account["name"] in names(response)
    later = dataverse.client.get("accounts", params={"$filter": "modifiedon gt 2999-01-01T00:00:00Z"})
    assert names(later) == []
    earlier = dataverse.client.get("accounts", params={"$filter": "modifiedon gt 2000-01-01T00:00:00Z"})
    assert len(names(earlier)) == 23


def test_filter_errors_name_the_property_or_the_syntax(dataverse: Running) -> None:
    response = dataverse.client.get("accounts", params={"$filter": "nosuchcolumn eq 1"})
    assert response.status_code == 400
    assert "nosuchcolumn" in response.json()["error"]["message"]
    response = dataverse.client.get("accounts", params={"$filter": "name eq 'x' and"})
    assert response.status_code == 400
    assert "$filter" in response.json()["error"]["message"]
    response = dataverse.client.get("accounts", params={"$select": "name,bogus"})
    assert response.status_code == 400
    assert "bogus" in response.json()["error"]["message"]


def test_orderby_and_top(dataverse: Running, demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "crm.db") as db:
        expected = [n for (n,) in db.execute("SELECT name FROM account ORDER BY creditlimit DESC, name LIMIT 3")]
    params = {"$select": "name,creditlimit", "$orderby": "creditlimit desc,name", "$top": "3"}
    response = dataverse.client.get("accounts", params=params)
    assert names(response) == expected
    assert "@odata.nextLink" not in response.json()
    ascending = names(dataverse.client.get("accounts", params={"$select": "name", "$orderby": "name asc"}))
    assert ascending == sorted(ascending)


def test_skip_is_not_supported(dataverse: Running) -> None:
    response = dataverse.client.get("accounts", params={"$skip": "5"})
    assert response.status_code == 400
    assert "$skip" in response.json()["error"]["message"]


@pytest.mark.parametrize("order", [None, "modifiedon", "creditlimit desc", "address1_city asc,name desc"])
def test_paging_with_maxpagesize_follows_nextlinks_to_every_row_once(dataverse: Running, order: str | None) -> None:
    params = {"$select": "name,creditlimit,address1_city,modifiedon"}
    if order:
        params["$orderby"] = order
    response = dataverse.client.get("accounts", params=params, headers={"Prefer": "odata.maxpagesize=4"})
    assert response.headers["preference-applied"] == "odata.maxpagesize=4"
    seen: list[str] = []
    pages = 0
    while True:
        body = response.json()
        assert len(body["value"]) <= 4
        seen += [row["accountid"] for row in body["value"]]
        pages += 1
        link = body.get("@odata.nextLink")
        if link is None:
            break
        assert "$skiptoken=" in link and "pagingcookie" in link.replace("%22", '"').replace("%3D", "=")
        response = dataverse.client.get(link, headers={"Prefer": "odata.maxpagesize=4"})
        assert response.status_code == 200, response.text
    assert pages == 6
    assert sorted(seen) == sorted(r["accountid"] for r in all_accounts(dataverse))


def test_paging_keeps_going_when_rows_change_between_pages(dataverse: Running, demo_dir: Any) -> None:
    first = dataverse.client.get("accounts", params={"$select": "name"}, headers={"Prefer": "odata.maxpagesize=10"})
    seen = [r["accountid"] for r in first.json()["value"]]
    with sqlite3.connect(demo_dir / "crm.db") as db:  # a row already served is changed: no row skipped or repeated
        db.execute("UPDATE account SET name = 'AAA first' WHERE accountid = ?", (seen[0],))
    link = first.json()["@odata.nextLink"]
    while link:
        body = dataverse.client.get(link, headers={"Prefer": "odata.maxpagesize=10"}).json()
        seen += [r["accountid"] for r in body["value"]]
        link = body.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 23


def test_top_is_ignored_when_maxpagesize_is_sent(dataverse: Running) -> None:
    response = dataverse.client.get("accounts", params={"$top": "2"}, headers={"Prefer": "odata.maxpagesize=5"})
    assert len(response.json()["value"]) == 5
    assert "@odata.nextLink" in response.json()


def test_a_forged_skiptoken_is_a_clear_error(dataverse: Running) -> None:
    response = dataverse.client.get("accounts", params={"$skiptoken": "not-a-cookie"})
    assert response.status_code == 400
    assert "$skiptoken" in response.json()["error"]["message"]


def test_count(dataverse: Running) -> None:
    body = dataverse.client.get("accounts", params={"$count": "true", "$filter": "address1_city eq 'London'"}).json()
    assert body["@odata.count"] == len(body["value"]) > 0


def test_read_one_by_key_and_by_alternate_key_and_a_missing_one(dataverse: Running) -> None:
    account = all_accounts(dataverse)[0]
    key = account["accountid"]
    one = dataverse.client.get(f"accounts({key})", params={"$select": "name"})
    assert one.status_code == 200
    assert one.json()["name"] == account["name"]
    assert one.json()["@odata.context"].endswith("$metadata#accounts/$entity")
    by_name = dataverse.client.get(f"accounts(name='{account['name']}')")
    assert by_name.json()["accountid"] == key
    missing = dataverse.client.get("accounts(00000000-0000-4000-8000-000000000000)")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "0x80040217",
        "message": "account With Id = 00000000-0000-4000-8000-000000000000 Does Not Exist",
    }
    assert dataverse.client.get("nosuchset").status_code == 404


def test_lookups_read_as_value_properties_with_annotations_on_request(dataverse: Running) -> None:
    contact = dataverse.client.get("contacts", params={"$select": "lastname,_parentcustomerid_value"}).json()["value"]
    with_parent = [c for c in contact if c["_parentcustomerid_value"]]
    assert with_parent
    account = with_parent[0]["_parentcustomerid_value"]
    assert dataverse.client.get(f"accounts({account})").status_code == 200
    annotated = dataverse.client.get(
        "accounts", params={"$select": "name,_ownerid_value"}, headers={"Prefer": 'odata.include-annotations="*"'}
    ).json()["value"][0]
    assert annotated["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"


def test_booleans_read_as_json_booleans(dataverse: Running) -> None:
    users = dataverse.client.get("systemusers", params={"$select": "fullname,isdisabled"}).json()["value"]
    assert {type(u["isdisabled"]) for u in users} == {bool}


def test_entity_definitions_by_entity_set_name(dataverse: Running) -> None:
    response = dataverse.client.get(
        "EntityDefinitions",
        params={
            "$filter": "EntitySetName eq 'accounts'",
            "$select": "LogicalName,PrimaryIdAttribute,EntitySetName",
        },
    )
    assert response.status_code == 200
    (definition,) = response.json()["value"]
    assert {k: definition[k] for k in ("LogicalName", "PrimaryIdAttribute", "EntitySetName")} == {
        "LogicalName": "account",
        "PrimaryIdAttribute": "accountid",
        "EntitySetName": "accounts",
    }
    none = dataverse.client.get("EntityDefinitions", params={"$filter": "EntitySetName eq 'nothing'"})
    assert none.json()["value"] == []


def test_attributes_give_types_lengths_and_lookup_targets(dataverse: Running) -> None:
    response = dataverse.client.get(
        "EntityDefinitions(LogicalName='account')/Attributes",
        params={"$select": "LogicalName,AttributeType,MaxLength"},
    )
    assert response.status_code == 200
    attributes = {a["LogicalName"]: a for a in response.json()["value"]}
    assert attributes["accountid"]["AttributeType"] == "Uniqueidentifier"
    assert attributes["name"]["AttributeType"] == "String"
    assert attributes["name"]["MaxLength"] == 160
    assert attributes["modifiedon"]["AttributeType"] == "DateTime"
    assert attributes["creditlimit"]["AttributeType"] == "Money"
    assert attributes["statecode"]["AttributeType"] == "State"
    assert attributes["customertypecode"]["AttributeType"] == "Picklist"
    assert attributes["ownerid"]["AttributeType"] == "Owner"
    assert attributes["ownerid"]["Targets"] == ["systemuser"]
    assert attributes["transactioncurrencyid"]["AttributeType"] == "Lookup"
    contact = dataverse.client.get("EntityDefinitions(LogicalName='contact')/Attributes").json()["value"]
    parent = next(a for a in contact if a["LogicalName"] == "parentcustomerid")
    assert parent["AttributeType"] == "Customer"
    assert parent["Targets"] == ["account", "contact"]
    missing = dataverse.client.get("EntityDefinitions(LogicalName='nothing')/Attributes")
    assert missing.status_code == 404


def test_whoami_names_the_application_user(dataverse: Running) -> None:
    from coupler.testing import DEFAULT_APP_USER_ID

    assert dataverse.client.get("WhoAmI").json()["UserId"] == DEFAULT_APP_USER_ID

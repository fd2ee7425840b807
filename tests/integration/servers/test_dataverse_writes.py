"""Writes to the Dataverse server: statuses and bodies, ETags and 412, upserts, lookups, bulk operations."""

from __future__ import annotations

from typing import Any

from coupler.testing import DEFAULT_APP_USER_ID
from coupler.testing.dataverse.server import INTERACTIVE_USER_ID
from integration.servers.conftest import Running


def first(dataverse: Running, entity_set: str) -> dict[str, Any]:
    return dict(dataverse.client.get(entity_set, params={"$top": "1"}).json()["value"][0])


def test_post_answers_204_with_the_entity_id_or_201_with_the_representation(dataverse: Running) -> None:
    response = dataverse.client.post("accounts", json={"name": "Contoso Pharmaceuticals"})
    assert response.status_code == 204
    assert response.content == b""
    entity_id = response.headers["odata-entityid"]
    assert entity_id.startswith(str(dataverse.url)) and "/accounts(" in entity_id
    assert dataverse.client.get(entity_id).json()["name"] == "Contoso Pharmaceuticals"
    created = dataverse.client.post("accounts", json={"name": "Litware"}, headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Litware" and body["accountid"] and body["@odata.etag"].startswith('W/"')
    assert body["_modifiedby_value"] == DEFAULT_APP_USER_ID


def test_post_may_choose_the_key(dataverse: Running) -> None:
    key = "12345678-1234-4234-8234-123456789012"
    response = dataverse.client.post("accounts", json={"accountid": key, "name": "Chosen"})
    assert response.headers["odata-entityid"].endswith(f"accounts({key})")
    again = dataverse.client.post("accounts", json={"accountid": key, "name": "Twice"})
    assert again.status_code == 412
    assert again.json()["error"]["code"] == "0x80040237"


def test_validation_errors_name_the_attribute(dataverse: Running) -> None:
    too_long = dataverse.client.post("accounts", json={"name": "x" * 161})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["message"] == (
        "A validation error occurred. The length of the 'name' attribute of the 'account' entity exceeded the "
        "maximum allowed length of '160'."
    )
    unknown = dataverse.client.post("accounts", json={"name": "A", "color": "red"})
    assert unknown.status_code == 400 and "'color'" in unknown.json()["error"]["message"]
    missing = dataverse.client.post("accounts", json={"accountnumber": "A1"})
    assert missing.status_code == 400 and "name" in missing.json()["error"]["message"]
    wrong_type = dataverse.client.post("accounts", json={"name": "A", "creditlimit": "lots"})
    assert wrong_type.status_code == 400 and "creditlimit" in wrong_type.json()["error"]["message"]
    bad_choice = dataverse.client.post("accounts", json={"name": "A", "customertypecode": 99})
    assert bad_choice.status_code == 400 and "customertypecode" in bad_choice.json()["error"]["message"]
    not_json = dataverse.client.post("accounts", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]["message"]


def test_patch_with_the_current_etag_then_a_stale_one_gives_412(dataverse: Running) -> None:
    account = first(dataverse, "accounts")
    url = f"accounts({account['accountid']})"
    updated = dataverse.client.patch(
        url, json={"address1_city": "Aarhus"}, headers={"If-Match": account["@odata.etag"]}
    )
    assert updated.status_code == 204
    assert updated.headers["etag"] != account["@odata.etag"]
    stale = dataverse.client.patch(url, json={"address1_city": "Odense"}, headers={"If-Match": account["@odata.etag"]})
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "0x80060882",
        "message": "The version of the existing record doesn't match the RowVersion property provided.",
    }
    assert dataverse.client.get(url).json()["address1_city"] == "Aarhus"
    represented = dataverse.client.patch(
        url, json={"address1_city": "Vejle"}, headers={"If-Match": "*", "Prefer": "return=representation"}
    )
    assert represented.status_code == 200 and represented.json()["address1_city"] == "Vejle"


def test_patch_if_match_star_does_not_create_and_plain_patch_upserts(dataverse: Running) -> None:
    key = "aaaaaaaa-1234-4234-8234-123456789012"
    refused = dataverse.client.patch(f"accounts({key})", json={"name": "Ghost"}, headers={"If-Match": "*"})
    assert refused.status_code == 404
    created = dataverse.client.patch(f"accounts({key})", json={"name": "Upserted"})
    assert created.status_code == 204
    assert dataverse.client.get(f"accounts({key})").json()["name"] == "Upserted"
    exists = dataverse.client.patch(f"accounts({key})", json={"name": "Again"}, headers={"If-None-Match": "*"})
    assert exists.status_code == 412
    by_alternate = dataverse.client.patch("accounts(accountnumber='ALT-1')", json={"name": "By alternate key"})
    assert by_alternate.status_code == 204
    assert dataverse.client.get("accounts(accountnumber='ALT-1')").json()["name"] == "By alternate key"


def test_delete_then_404_and_etag_checked(dataverse: Running) -> None:
    account = first(dataverse, "accounts")
    url = f"accounts({account['accountid']})"
    dataverse.client.patch(url, json={"address1_city": "X"}, headers={"If-Match": "*"})
    assert dataverse.client.delete(url, headers={"If-Match": account["@odata.etag"]}).status_code == 412
    assert dataverse.client.delete(url).status_code == 204
    assert dataverse.client.delete(url).status_code == 404
    assert dataverse.client.get(url).status_code == 404


def test_lookups_are_written_with_odata_bind(dataverse: Running) -> None:
    user = first(dataverse, "systemusers")["systemuserid"]
    account = dataverse.client.post(
        "accounts",
        json={"name": "Bound", "ownerid@odata.bind": f"/systemusers({user})"},
        headers={"Prefer": "return=representation"},
    ).json()
    assert account["_ownerid_value"] == user
    contact = dataverse.client.post(
        "contacts",
        json={"lastname": "Lee", "parentcustomerid_account@odata.bind": f"accounts({account['accountid']})"},
        headers={"Prefer": "return=representation"},
    ).json()
    assert contact["_parentcustomerid_value"] == account["accountid"]
    cleared = dataverse.client.patch(
        f"contacts({contact['contactid']})",
        json={"parentcustomerid_account@odata.bind": None},
        headers={"If-Match": "*", "Prefer": "return=representation"},
    )
    assert cleared.json()["_parentcustomerid_value"] is None


def test_lookup_errors(dataverse: Running) -> None:
    missing = dataverse.client.post(
        "accounts", json={"name": "A", "ownerid@odata.bind": "/systemusers(00000000-0000-4000-8000-000000000000)"}
    )
    assert missing.status_code == 404 and "systemuser" in missing.json()["error"]["message"]
    wrong_set = dataverse.client.post(
        "accounts", json={"name": "A", "ownerid@odata.bind": "/accounts(00000000-0000-4000-8000-000000000000)"}
    )
    assert wrong_set.status_code == 400 and "systemusers" in wrong_set.json()["error"]["message"]
    raw = dataverse.client.post("accounts", json={"name": "A", "ownerid": "00000000-0000-4000-8000-000000000000"})
    assert raw.status_code == 400 and "@odata.bind" in raw.json()["error"]["message"]


def test_modifiedby_tells_our_writes_from_others(dataverse: Running, demo_dir: Any) -> None:
    import sqlite3

    ours, theirs = dataverse.client.get("accounts", params={"$top": "2"}).json()["value"]
    dataverse.client.patch(f"accounts({ours['accountid']})", json={"telephone1": "1"}, headers={"If-Match": "*"})
    with sqlite3.connect(demo_dir / "crm.db") as db:
        db.execute("UPDATE account SET telephone1 = '2' WHERE accountid = ?", (theirs["accountid"],))
    select = {"$select": "name,modifiedby"}
    assert dataverse.client.get(f"accounts({ours['accountid']})", params=select).json()["_modifiedby_value"] == (
        DEFAULT_APP_USER_ID
    )
    theirs_now = dataverse.client.get(f"accounts({theirs['accountid']})", params=select).json()
    assert theirs_now["_modifiedby_value"] == INTERACTIVE_USER_ID
    assert theirs_now["@odata.etag"] != theirs["@odata.etag"]


def targets(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"Targets": [{**row, "@odata.type": "Microsoft.Dynamics.CRM.account"} for row in rows]}


def test_create_multiple_returns_the_ids(dataverse: Running) -> None:
    response = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json=targets({"name": "M1"}, {"name": "M2"})
    )
    assert response.status_code == 200
    ids = response.json()["Ids"]
    assert len(ids) == 2
    assert [dataverse.client.get(f"accounts({i})").json()["name"] for i in ids] == ["M1", "M2"]


def test_create_multiple_is_all_or_nothing(dataverse: Running) -> None:
    before = len(dataverse.client.get("accounts").json()["value"])
    response = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json=targets({"name": "ok"}, {"name": "x" * 200})
    )
    assert response.status_code == 400
    assert "'name'" in response.json()["error"]["message"]
    assert len(dataverse.client.get("accounts").json()["value"]) == before
    untyped = dataverse.client.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{"name": "A"}]})
    assert untyped.status_code == 400 and "@odata.type" in untyped.json()["error"]["message"]


def test_update_multiple_and_upsert_multiple(dataverse: Running) -> None:
    a, b = dataverse.client.get("accounts", params={"$top": "2"}).json()["value"]
    response = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json=targets(
            {"accountid": a["accountid"], "telephone1": "111"}, {"accountid": b["accountid"], "telephone1": "222"}
        ),
    )
    assert response.status_code == 204
    assert dataverse.client.get(f"accounts({b['accountid']})").json()["telephone1"] == "222"
    missing = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
        json=targets(
            {"accountid": a["accountid"], "telephone1": "333"},
            {"accountid": "00000000-0000-4000-8000-000000000000", "telephone1": "444"},
        ),
    )
    assert missing.status_code == 404
    assert dataverse.client.get(f"accounts({a['accountid']})").json()["telephone1"] == "111"
    new_key = "bbbbbbbb-1234-4234-8234-123456789012"
    upsert = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json=targets({"accountid": a["accountid"], "telephone1": "555"}, {"accountid": new_key, "name": "Upserted"}),
    )
    assert upsert.status_code == 200
    assert upsert.json()["Ids"] == [a["accountid"], new_key]
    assert dataverse.client.get(f"accounts({new_key})").json()["name"] == "Upserted"
    assert dataverse.client.get(f"accounts({a['accountid']})").json()["telephone1"] == "555"

"""Dataverse change tracking: the initial read and its delta link, changes and deleted entries, expiry."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from integration.servers.conftest import Running

TRACK = {"Prefer": "odata.track-changes"}


def initial(dataverse: Running, page_size: int | None = None) -> tuple[list[dict[str, Any]], str]:
    headers = dict(TRACK)
    if page_size:
        headers["Prefer"] += f",odata.maxpagesize={page_size}"
    response = dataverse.client.get("accounts", params={"$select": "name,address1_city"}, headers=headers)
    rows: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["value"]
        if "@odata.deltaLink" in body:
            return rows, body["@odata.deltaLink"]
        response = dataverse.client.get(body["@odata.nextLink"], headers=headers)


def test_initial_read_returns_every_row_and_a_delta_link(dataverse: Running) -> None:
    rows, link = initial(dataverse)
    assert len(rows) == 23
    assert "$deltatoken=" in link
    paged, paged_link = initial(dataverse, page_size=5)
    assert sorted(r["accountid"] for r in paged) == sorted(r["accountid"] for r in rows)
    assert "$deltatoken=" in paged_link


def test_delta_link_returns_changes_then_deleted_entries(dataverse: Running, demo_dir: Path) -> None:
    rows, link = initial(dataverse)
    changed, deleted = rows[0]["accountid"], rows[1]["accountid"]
    dataverse.client.patch(f"accounts({changed})", json={"address1_city": "Aarhus"}, headers={"If-Match": "*"})
    dataverse.client.delete(f"accounts({deleted})")
    with sqlite3.connect(demo_dir / "crm.db") as db:  # a change made outside the server is tracked too
        db.execute("UPDATE account SET address1_city = 'Oslo' WHERE accountid = ?", (rows[2]["accountid"],))
    created = dataverse.client.post("accounts", json={"name": "New"}).headers["odata-entityid"]
    response = dataverse.client.get(link)
    assert response.status_code == 200
    body = response.json()
    value = body["value"]
    assert [v.get("accountid") for v in value[:3]] == [changed, rows[2]["accountid"], created[-37:-1]]
    assert value[0]["address1_city"] == "Aarhus" and set(value[0]) == {
        "@odata.etag",
        "name",
        "address1_city",
        "accountid",
    }
    assert value[3] == {
        "@odata.context": f"{dataverse.url}/api/data/v9.2/$metadata#accounts/$deletedEntity",
        "id": deleted,
        "reason": "deleted",
    }
    assert len(value) == 4
    again = dataverse.client.get(body["@odata.deltaLink"]).json()
    assert again["value"] == []


def test_filter_orderby_and_top_are_rejected_with_change_tracking(dataverse: Running) -> None:
    for option in ({"$filter": "name eq 'a'"}, {"$orderby": "name"}, {"$top": "2"}):
        response = dataverse.client.get("accounts", params=option, headers=TRACK)
        assert response.status_code == 400
        assert next(iter(option)) in response.json()["error"]["message"]


def test_an_expired_token_is_an_error_asking_for_a_full_read(dataverse: Running) -> None:
    _, link = initial(dataverse)
    dataverse.faults.expire_delta_tokens()
    response = dataverse.client.get(link)
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]
    _, fresh = initial(dataverse)
    assert dataverse.client.get(fresh).status_code == 200
    assert dataverse.client.get(link).status_code == 400


def test_a_forged_token_and_an_untracked_table(dataverse: Running, demo_dir: Path) -> None:
    response = dataverse.client.get("accounts", params={"$deltatoken": "garbage"})
    assert response.status_code == 400 and "delta token" in response.json()["error"]["message"]
    from coupler.testing import DataverseTable, dataverse_app, serve

    app = dataverse_app(
        f"sqlite:///{demo_dir / 'crm.db'}",
        tables={"accounts": DataverseTable(table="account", key="accountid", change_tracking=False)},
    )
    import httpx

    with serve(app) as url:
        refused = httpx.get(f"{url}/api/data/v9.2/accounts", headers=TRACK)
    assert refused.status_code == 400 and "Change tracking" in refused.json()["error"]["message"]

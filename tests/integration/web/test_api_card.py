"""The JSON API's record card, Synchronize now options and Set up coupling lookup, with bad input: every answer
is JSON with a clear message, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from .conftest import edit

CARD = "/api/mappings/CUSTOMER/records/{}/card"
OPTIONS = "/api/mappings/CUSTOMER/sync-options"
SEARCH = "/api/mappings/CUSTOMER/integration-search"


def _field(card: dict[str, Any], local: str) -> dict[str, Any]:
    return next(f for f in card["fields"] if f["local_field"] == local)


def test_the_card_shows_both_records_field_by_field(api: TestClient, fabrikam: str, demo_dir: Path) -> None:
    card = api.get(CARD.format(fabrikam)).json()
    assert (card["mapping"], card["ref"], card["coupled"]) == ("CUSTOMER", "C00070", True)
    assert (card["local_name"], card["integration_name"]) == ("C00070", "Fabrikam, Inc.")
    assert card["local"]["values"]["number"] == "C00070" and card["integration"]["values"]["name"] == "Fabrikam, Inc."
    assert card["coupling"]["to_integration_result"] == "success" and card["conflict"] is None
    city = _field(card, "city")
    assert city == {
        "pair": "city|address1_city",
        "caption": "City",
        "local_field": "city",
        "integration_field": "address1_city",
        "direction": "bidirectional",
        "local_value": "Manchester",
        "integration_value": "Manchester",
        "differs": False,
        "changed": [],
        "note": None,
    }
    assert not any(f["differs"] for f in card["fields"])

    edit(demo_dir / "erp.db", "UPDATE customers SET city = 'Leeds' WHERE number = 'C00070'")
    changed = _field(api.get(CARD.format("Fabrikam, Inc.")).json(), "city")  # either side's display key
    assert (changed["local_value"], changed["differs"], changed["changed"]) == ("Leeds", True, ["local"])


def test_the_card_of_an_uncoupled_record_and_of_a_conflict(api: TestClient, conflict: str) -> None:
    uncoupled = api.get(CARD.format("C00010")).json()
    assert uncoupled["coupled"] is False and uncoupled["integration"] is None and uncoupled["coupling"] is None
    parked = api.get(CARD.format(conflict)).json()
    assert parked["conflict"] is not None and parked["conflict"]["job_id"]
    [field] = [f for f in parked["conflict"]["fields"] if f["local_field"] == "city"]
    assert (field["local_value"], field["integration_value"]) == ("Odense", "Aalborg")
    assert _field(parked, "city")["changed"] == ["local", "integration"]


def test_sync_options_default_to_the_side_that_changed_and_warn(api: TestClient, fabrikam: str, demo_dir: Path) -> None:
    quiet = api.get(OPTIONS, params={"ref": [fabrikam, "C00010"]}).json()
    assert [o["choice"] for o in quiet["options"]] == ["to-integration", "from-integration", "merge"]
    assert [o["direction"] for o in quiet["options"]] == ["to-integration", "from-integration", None]
    assert (quiet["default"], quiet["records"], quiet["uncoupled"]) == ("to-integration", 1, ["C00010"])
    unknown = api.get(OPTIONS, params={"ref": [fabrikam, "nobody"]})
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("Business Central has no Customer nobody")
    assert quiet["merge_refused"] is None and not any(o["warning"] for o in quiet["options"])

    edit(demo_dir / "crm.db", "UPDATE account SET address1_city = 'York' WHERE name = 'Fabrikam, Inc.'")
    newer = api.get(OPTIONS, params={"ref": fabrikam}).json()
    assert newer["default"] == "from-integration" and newer["changed_integration"] == ["City"]
    send = next(o for o in newer["options"] if o["choice"] == "to-integration")
    assert "Dynamics 365 Sales holds newer data: City" in send["warning"]


def test_sync_options_refuse_merge_when_both_sides_changed_a_field(api: TestClient, conflict: str) -> None:
    options = api.get(OPTIONS, params={"ref": conflict}).json()
    assert [o["choice"] for o in options["options"]] == ["to-integration", "from-integration"]
    assert "Merge is not offered: both systems changed City" in options["merge_refused"]
    assert all(o["warning"] for o in options["options"]), "either direction overwrites newer data"


def test_integration_search_for_the_coupling_lookup(api: TestClient, fabrikam: str) -> None:
    prefix = api.get(SEARCH, params={"q": "fabri"}).json()
    assert [(m["name"], m["exact"], m["coupled_to"]) for m in prefix] == [("Fabrikam, Inc.", False, "C00070")]
    exact = api.get(SEARCH, params={"q": "FABRIKAM, INC."}).json()
    assert exact[0]["name"] == "Fabrikam, Inc." and exact[0]["exact"] is True
    assert exact[0]["values"]["name"] == "Fabrikam, Inc." and exact[0]["key"]
    some = api.get(SEARCH, params={"limit": 3}).json()
    assert len(some) == 3, "no text: the first records of the filter"
    assert api.get(SEARCH, params={"q": "no such account anywhere"}).json() == []


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/mappings/NOPE/records/C00070/card", {}, 404, "No table mapping is named 'NOPE'"),
        (CARD.format("C99999"), {}, 404, "'C99999' names no record in Business Central or Dynamics 365 Sales"),
        (OPTIONS, {}, 422, "query.ref: Field required"),
        (OPTIONS, {"ref": "a\x01b"}, 422, "query.ref.0"),
        ("/api/mappings/NOPE/sync-options", {"ref": "C00070"}, 404, "No table mapping is named 'NOPE'"),
        (SEARCH, {"q": "x" * 201}, 422, "query.q"),
        (SEARCH, {"limit": 0}, 422, "query.limit"),
        (SEARCH, {"limit": "many"}, 422, "query.limit"),
        ("/api/mappings/NOPE/integration-search", {"q": "x"}, 404, "No table mapping is named 'NOPE'"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    api: TestClient, path: str, params: dict[str, object], status: int, words: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]

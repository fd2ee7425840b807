"""Mappings edited on their page and over the API: a field mapping switched off, its direction and caption changed,
the tables' captions and filters, the match fields of a Match-based coupling run. Each change is written to
coupler.toml (comments kept, previous file kept) and the app works with it from the next request on."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from coupler.domain.mapping import Direction
from coupler.entrypoints.web.deps import WebState
from coupler.services.api import Coupler

from .conftest import edit

HTML = {"accept": "text/html"}
CITY, CREDIT_LIMIT, PHONE = 3, 10, 7  # positions of CUSTOMER's field mappings in the demo


def _state(client: TestClient) -> WebState:
    state: WebState = client.app.state.web  # type: ignore[attr-defined]
    return state


def _customer(config: Path) -> dict[str, Any]:
    customer: dict[str, Any] = next(
        m for m in tomllib.loads(config.read_text(encoding="utf-8"))["mappings"] if m["name"] == "CUSTOMER"
    )
    return customer


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def _notice(page: str) -> str:
    return page.split('class="notice', 1)[1].split("</p>", 1)[0].split("<p>", 1)[1]


def test_a_direction_changed_on_the_page_is_written_and_said(client: TestClient, csrf: str, config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    form = {"csrf_token": csrf, "direction": "bidirectional", "enabled": "true", "caption": "Credit Limit (LCY)"}

    response = client.post(f"/mappings/CUSTOMER/fields/{CREDIT_LIMIT}", data=form, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/mappings/CUSTOMER?changed=")
    page = client.get(response.headers["location"], headers=HTML)
    assert _notice(page.text) == "Credit Limit (LCY): direction is now Both ways."
    assert "direction" not in _customer(config)["fields"][CREDIT_LIMIT], "the mapping's own: not written again"
    assert _comments(config.read_text(encoding="utf-8")) == _comments(before)
    assert (config.parent / "coupler.toml.bak").read_text(encoding="utf-8") == before
    assert _state(client).coupler.systems.mapping("CUSTOMER").fields[CREDIT_LIMIT].direction is Direction.BIDIRECTIONAL

    back = {"csrf_token": csrf, "direction": "to-integration", "enabled": "true"}
    again = client.post(f"/mappings/CUSTOMER/fields/{CREDIT_LIMIT}", data=back, headers=HTML)
    assert _notice(again.text) == "Credit Limit (LCY): direction is now To Dynamics 365 Sales."


def test_a_field_switched_off_is_no_longer_synchronized_right_after(
    client: TestClient, csrf: str, api: TestClient, fabrikam: str, demo_dir: Path
) -> None:
    form = {"csrf_token": csrf, "enabled": "false", "direction": "bidirectional", "caption": "Town"}
    page = client.post(f"/mappings/CUSTOMER/fields/{CITY}", data=form, headers=HTML)
    assert _notice(page.text) == "City: caption is now Town; Town: switched off."
    edit(demo_dir / "erp.db", "UPDATE customers SET city = 'Odense', phoneNumber = '555-0199' WHERE number = 'C00070'")

    report = api.post("/api/mappings/CUSTOMER/sync", json={"refs": [fabrikam], "direction": "to-integration"})

    assert report.status_code == 200, report.text
    with closing(sqlite3.connect(demo_dir / "crm.db")) as crm:
        phone, city = crm.execute(
            "SELECT telephone1, address1_city FROM account WHERE name = 'Fabrikam, Inc.'"
        ).fetchone()
    assert phone == "555-0199", "the fields still on are synchronized"
    assert city != "Odense", "the field switched off is not"
    phone = {"csrf_token": csrf, "enabled": "true", "direction": "bidirectional", "caption": "Telephone"}
    client.post(f"/mappings/CUSTOMER/fields/{PHONE}", data=phone, headers=HTML)
    card = client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text
    assert "Telephone" in card and "Phone No." not in card, "the card shows the new caption at once"


def test_a_direction_the_mapping_does_not_allow_is_refused_naming_the_field(
    client: TestClient, csrf: str, config: Path
) -> None:
    before = config.read_text(encoding="utf-8")
    response = client.post(
        "/mappings/CURRENCY/fields/0", data={"csrf_token": csrf, "direction": "from-integration"}, headers=HTML
    )
    assert response.status_code == 422 and 'role="alert"' in response.text
    assert "Nothing was changed. Code: the direction &#39;from-integration&#39; is not one of to-integration" in (
        response.text
    )
    assert config.read_text(encoding="utf-8") == before


def test_table_captions_and_a_filter_change_what_the_app_shows(client: TestClient, csrf: str, config: Path) -> None:
    captions = {"csrf_token": csrf, "local_caption": "Debtor", "integration_caption": "Account"}
    page = client.post("/mappings/CUSTOMER/tables", data=captions, headers=HTML)
    assert _notice(page.text) == "Business Central table: caption is now Debtor."
    assert "Business Central Debtor" in page.text.split("</h1>")[0]
    before = client.get("/api/mappings/CUSTOMER/records?limit=500").json()["rows"]

    rows = {"csrf_token": csrf, "field": ["blocked", "displayName", ""], "op": ["eq", "startswith", "eq"]}
    page = client.post("/mappings/CUSTOMER/filter/local", data={**rows, "value": ["", "A", ""]}, headers=HTML)

    assert _notice(page.text) == "Business Central filter: Blocked is &#34;&#34; and Name starts with A."
    assert _customer(config)["local"]["filter"] == [
        {"field": "blocked", "op": "eq", "value": ""},
        {"field": "displayName", "op": "startswith", "value": "A"},
    ]
    after = client.get("/api/mappings/CUSTOMER/records?limit=500").json()["rows"]
    assert after and len(after) < len(before), "the list applies the new filter at once"
    assert all(r["name"].startswith("A") for r in after), after


def test_the_setup_list_shows_the_filters_in_the_users_words(client: TestClient, csrf: str) -> None:
    page = client.get("/mappings/CUSTOMER", headers=HTML).text
    setup = page.split('id="setup"', 1)[1].split("</dl>", 1)[0]
    assert "Blocked is &#34;&#34;" in setup and "Relationship Type is 3" in setup
    assert " eq " not in setup

    rows = {
        "csrf_token": csrf,
        "field": ["paymenttermscode", "name"],
        "op": ["in", "is_null"],
        "value": ["1, 3, (empty)", ""],
    }
    client.post("/mappings/CUSTOMER/filter/integration", data=rows, headers=HTML)

    setup = client.get("/mappings/CUSTOMER", headers=HTML).text.split('id="setup"', 1)[1].split("</dl>", 1)[0]
    assert "Payment Terms Code is one of 30 DAYS, CM, (empty)</span> and <span" in setup, setup
    assert "Name is empty" in setup


def test_an_invalid_filter_names_the_field_and_writes_nothing(client: TestClient, csrf: str, config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    rows = {"csrf_token": csrf, "field": ["statecode", "creditlimit"], "op": ["eq", "gt"], "value": ["0", " "]}

    page = client.post("/mappings/CUSTOMER/filter/integration", data=rows, headers=HTML)

    assert page.status_code == 422
    assert (
        _notice(page.text)
        == "Nothing was changed. Dynamics 365 Sales filter, Credit Limit (LCY): is more than needs a value."
    )
    unknown = client.post(
        "/mappings/CUSTOMER/filter/local", data={"csrf_token": csrf, "field": "nope", "op": "eq", "value": "1"}
    )
    assert (
        unknown.status_code == 422 and "Business Central filter: Customer has no field &#39;nope&#39;" in unknown.text
    )
    assert config.read_text(encoding="utf-8") == before
    assert not (config.parent / "coupler.toml.bak").exists()


def test_a_caption_too_long_names_the_field_and_writes_nothing(client: TestClient, csrf: str, config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    long = "Credit " * 12
    page = client.post(f"/mappings/CUSTOMER/fields/{CREDIT_LIMIT}", data={"csrf_token": csrf, "caption": long})
    assert page.status_code == 422
    assert _notice(page.text) == (
        "Nothing was changed. Credit Limit (LCY): a caption has at most 80 characters; this one has 83."
    )
    table = client.post("/mappings/CUSTOMER/tables", data={"csrf_token": csrf, "integration_caption": long})
    assert _notice(table.text).startswith("Nothing was changed. Dynamics 365 Sales table: a caption has at most 80")
    assert config.read_text(encoding="utf-8") == before


def test_the_forms_need_the_csrf_token(client: TestClient, config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    refused = client.post("/mappings/CUSTOMER/fields/3", data={"enabled": "false"}, headers=HTML)
    assert refused.status_code == 403
    assert config.read_text(encoding="utf-8") == before


def test_the_page_offers_the_directions_a_field_may_have(client: TestClient) -> None:
    page = client.get("/mappings/CUSTOMER", headers=HTML).text
    row = page.split(f'id="field-{CREDIT_LIMIT}"')[1].split("</tr>")[0]
    assert [o.split(">")[1].split("<")[0] for o in row.split("<option")[1:4]] == [
        "Both ways",
        "To Dynamics 365 Sales",
        "From Dynamics 365 Sales",
    ]
    currency = client.get("/mappings/CURRENCY", headers=HTML).text.split('id="field-0"')[1].split("</tr>")[0]
    assert currency.count('<option value="to-integration"') == 1 and "from-integration" not in currency


def test_match_based_coupling_on_the_fields_chosen_for_the_run(
    client: TestClient, csrf: str, config: Path, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    coupler.match("SALESPEOPLE")
    coupler.match("CURRENCY", create_missing=True)
    page = client.get("/mappings/CUSTOMER", headers=HTML).text
    listed = [p.split('"')[0] for p in page.split('name="match_field" value="')[1:]]
    assert "0" in listed and str(PHONE) in listed and "11" not in listed, "no constant, no lookup"
    before = config.read_text(encoding="utf-8")
    priorities = ["1" if i == str(PHONE) else "" for i in listed]
    form = {"csrf_token": csrf, "match_field": listed, "match_priority": priorities, "sync_after": ""}

    started = client.post("/mappings/CUSTOMER/match", data=form, follow_redirects=False)

    assert started.status_code == 303, started.text
    done = wait_task(started.headers["location"].split("task=")[1])
    assert done["state"] == "done" and str(done["message"]).startswith("11 coupled"), done
    assert done["label"] == "Match-based coupling of CUSTOMER on Phone No."
    assert config.read_text(encoding="utf-8") == before, "chosen for this run only"


def test_match_fields_saved_to_the_configuration(
    client: TestClient, csrf: str, config: Path, wait_task: Callable[[str], dict[str, object]]
) -> None:
    form = {"csrf_token": csrf, "match_field": ["0", str(PHONE)], "match_priority": ["2", "1"], "save_match": "true"}
    started = client.post("/mappings/CUSTOMER/match", data=form, follow_redirects=False)
    assert started.status_code == 303
    done = wait_task(started.headers["location"].split("task=")[1])
    assert done["label"] == "Match-based coupling of CUSTOMER on Phone No., then Name (saved as its match fields)"
    fields = _customer(config)["fields"]
    assert (fields[0]["match"], fields[PHONE]["match"]) == (2, 1)
    assert [f.local for f in _state(client).coupler.systems.mapping("CUSTOMER").fields if f.match_priority] == [
        "displayName",
        "phoneNumber",
    ]

    none = {"csrf_token": csrf, "match_field": ["0"], "match_priority": [""]}
    refused = client.post("/mappings/CUSTOMER/match", data=none, headers=HTML)
    assert refused.status_code == 422 and "Choose at least one match field" in refused.text


# the REST API ---------------------------------------------------------------------------------------------------
def test_the_api_changes_a_field_and_says_what_changed(api: TestClient, config: Path) -> None:
    response = api.patch(f"/api/mappings/customer/fields/{CREDIT_LIMIT}", json={"direction": "bidirectional"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] == ["Credit Limit (LCY): direction is now Both ways"]
    assert Path(body["backup"]).name == "coupler.toml.bak"
    assert body["mapping"]["fields"][CREDIT_LIMIT]["direction"] == "bidirectional"
    assert api.get("/api/mappings/CUSTOMER").json()["fields"][CREDIT_LIMIT]["caption"] == "Credit Limit (LCY)"
    caption = api.patch("/api/mappings/CUSTOMER/fields/3", json={"caption": "Town", "enabled": False}).json()
    assert caption["changed"] == ["City: caption is now Town", "Town: switched off"]


def test_the_api_changes_the_tables_captions_and_filters(api: TestClient, config: Path) -> None:
    body = {
        "integration_caption": "Customer account",
        "integration_filter": [{"field": "statecode", "op": "eq", "value": 0}, {"field": "name", "op": "not_null"}],
    }
    response = api.patch("/api/mappings/CUSTOMER", json=body)

    assert response.status_code == 200, response.text
    assert response.json()["changed"] == [
        "Dynamics 365 Sales table: caption is now Customer account",
        "Dynamics 365 Sales filter: Statecode is 0 and Name is not empty",
    ]
    integration = response.json()["mapping"]["integration"]
    assert integration["caption"] == "Customer account"
    assert integration["filter"] == [
        {"field": "statecode", "op": "eq", "value": 0},
        {"field": "name", "op": "not_null", "value": None},
    ]
    assert _customer(config)["integration"]["filter"][1] == {"field": "name", "op": "not_null"}


def test_the_api_refuses_an_invalid_change_with_each_problem_and_writes_nothing(api: TestClient, config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    unknown_column = api.patch("/api/mappings/CUSTOMER", json={"local_filter": [{"field": "nope", "value": 1}]})
    assert unknown_column.status_code == 422
    assert "table 'customers' of Business Central has no column 'nope'" in unknown_column.json()["detail"]
    bad_list = api.patch(
        "/api/mappings/CUSTOMER", json={"local_filter": [{"field": "blocked", "op": "in", "value": 1}]}
    )
    assert bad_list.status_code == 422 and "needs a list of values" in bad_list.json()["detail"]
    assert api.patch("/api/mappings/CURRENCY/fields/0", json={"direction": "from-integration"}).status_code == 422
    assert api.patch("/api/mappings/CUSTOMER/fields/99", json={"caption": "x"}).status_code == 422
    assert api.patch("/api/mappings/NOPE", json={"local_caption": "x"}).status_code == 404
    assert api.patch("/api/mappings/CUSTOMER", json={"colour": "red"}).status_code == 422
    assert config.read_text(encoding="utf-8") == before

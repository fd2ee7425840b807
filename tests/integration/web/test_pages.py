"""The HTML pages in-process (TestClient on a private demo): every page renders, actions redirect with a notice,
bad input and missing CSRF tokens get a clear message and a 4xx, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coupler.entrypoints.web.app import create_app

from .conftest import BASE_URL

HTML = {"accept": "text/html"}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/mappings/CUSTOMER",
        "/mappings/customer/records",
        "/mappings/CUSTOMER/records?filter=uncoupled&q=Fab",
        "/mappings/CUSTOMER/records/C00070",
        "/mappings/CUSTOMER/records/C00070/couple",
        "/jobs",
        "/errors",
        "/skipped",
        "/conflicts",
    ],
)
def test_every_page_renders(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<main id="main"' in response.text and "Traceback" not in response.text


def test_records_list_pages_with_a_keyset(client: TestClient) -> None:
    first = client.get("/mappings/CUSTOMER/records?limit=5", headers=HTML)
    assert first.status_code == 200 and first.text.count('name="ref"') == 5
    assert "Next page" in first.text
    link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(link, headers=HTML)
    assert second.status_code == 200 and "First page" in second.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/mappings/NOPE/records", 404, "No table mapping is named"),
        ("/mappings/CUSTOMER/records?filter=bogus", 422, "filter must be one of"),
        ("/mappings/CUSTOMER/records/C99999", 404, "names no record in Business Central or Dynamics 365 Sales"),
        ("/mappings/CUSTOMER/sync", 422, "Select at least one record"),
        ("/tasks/unknown", 404, "No background task"),
    ],
)
def test_bad_input_gets_a_clear_message(client: TestClient, path: str, status: int, message: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == status
    assert message in response.text and 'role="alert"' in response.text


def test_couple_from_the_card_then_synchronize_and_decouple(client: TestClient, csrf: str) -> None:
    lookup = client.get("/mappings/CUSTOMER/lookup?q=Fabri", headers=HTML)
    assert "Fabrikam, Inc." in lookup.text
    key = lookup.text.split('name="integration" value="')[1].split('"')[0]
    form = {"csrf_token": csrf, "integration": key, "sync_after": "no"}
    couple = client.post("/mappings/CUSTOMER/records/C00070/couple", data=form, follow_redirects=False)
    assert couple.status_code == 303 and "job=" in couple.headers["location"]
    card = client.get(couple.headers["location"], headers=HTML)
    assert "Set up coupling (CUSTOMER): 1 coupled." in card.text and "Coupled to" in card.text
    fabrikam = '<a href="/mappings/CUSTOMER/records/C00070">C00070 Fabrikam, Inc.</a>'
    account = f'<a href="/mappings/CUSTOMER/records/{key}">Fabrikam, Inc.</a>'
    linked = f"<li>Coupled {fabrikam} with {account}.</li>"
    assert linked in card.text, "the notice links both records to their card"
    dialog = client.get("/mappings/CUSTOMER/sync?ref=C00070", headers=HTML)
    assert "Send Business Central data to Dynamics 365 Sales" in dialog.text
    form = {"csrf_token": csrf, "ref": "C00070", "choice": "from-integration"}
    synced = client.post("/mappings/CUSTOMER/sync", data=form, headers=HTML)
    assert synced.status_code == 200 and "Synchronize now (CUSTOMER)" in synced.text
    decoupled = client.post("/mappings/CUSTOMER/records/C00070/decouple", data={"csrf_token": csrf}, headers=HTML)
    assert f"Decoupled {fabrikam} from {account}. Both records" in decoupled.text and "Not coupled." in decoupled.text


def test_bad_form_input_and_a_missing_csrf_token_are_refused(client: TestClient, csrf: str) -> None:
    bad = client.post(
        "/mappings/CUSTOMER/sync", data={"csrf_token": csrf, "ref": "C00070", "choice": "sideways"}, headers=HTML
    )
    assert bad.status_code == 422 and "Choose a direction" in bad.text
    nothing = client.post("/mappings/CUSTOMER/records/C00070/couple", data={"csrf_token": csrf}, headers=HTML)
    assert nothing.status_code == 422 and "Pick the Dynamics 365 Sales record" in nothing.text
    forged = client.post("/mappings/CUSTOMER/records/C00070/decouple", headers=HTML)
    assert forged.status_code == 403 and "CSRF" in forged.text
    confirm = client.post("/mappings/CUSTOMER/decouple-all", data={"csrf_token": csrf, "confirm": "x"}, headers=HTML)
    assert confirm.status_code == 422 and "type its name" in confirm.text


def test_pages_offer_no_connected_actions_and_say_why_while_a_system_does_not_answer(config: Path) -> None:
    config.write_text(config.read_text().replace("crm.db", "missing/crm.db"))
    with TestClient(create_app(config), base_url=BASE_URL, headers={"Accept": "text/html"}) as offline:
        page = offline.get("/")
        assert page.status_code == 200
        assert "Not connected." in page.text and "crm.db" in page.text
        mapping = offline.get("/mappings/CUSTOMER")
        assert "Not connected." in mapping.text
        for action in ("Run full synchronization", "Run match-based coupling", "Synchronize modified records"):
            assert action not in mapping.text, action


def test_the_card_opens_the_coupled_record_in_the_integration_system_when_it_has_a_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    coupler = client.app.state.web.coupler  # type: ignore[attr-defined]
    assert coupler.match("CUSTOMER").job.counters.coupled
    page = client.get("/mappings/CUSTOMER/records/C00070", headers=HTML).text
    assert 'href="#integration-record">Show the coupled Account' in page, "the SQL CRM has no pages of its own"
    monkeypatch.setattr(coupler.systems.integration, "record_url", lambda spec, key: f"https://crm.example/{key}")
    page = client.get("/mappings/CUSTOMER/records/C00070", headers=HTML).text
    assert 'href="https://crm.example/' in page and 'target="_blank" rel="noopener noreferrer"' in page

"""The web app speaks a Business Central administrator's words: the systems by their configured names (never
local/integration), fields by caption, records by number and name, values formatted; Decouple asks first and
offers to couple again; a record outside the mapping's filter says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from coupler.services.api import Coupler

from .conftest import edit

HTML = {"accept": "text/html"}
INTERNAL = re.compile(r"\b(local|integration)\b", re.IGNORECASE)
PAGE_NAME = re.compile(r"integration table mappings?", re.IGNORECASE)
"""Business Central's own name of the mappings page ("Integration Table Mappings") is theirs."""
OLD_WORDS = re.compile(r"local record|integration record|local side|integration side", re.IGNORECASE)
COMMAND = re.compile(
    r"`coupler [a-z]+|\bcoupler (resolve|sync|run|match|conflicts|deletions|approve|unlock|jobs|errors|enable|disable"
    r"|retry|decouple|couple|status|check|serve|init|review|mappings|skipped|locks)\b"
)
"""A CLI command line ("coupler resolve CUSTOMER ...", "coupler sync --full"): never in the web app's text."""


class _Text(HTMLParser):
    """The text a user sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _blocked_partner(coupler: Coupler, demo_dir: Path) -> str:
    """C00090 coupled to its account, then blocked in Business Central: outside the CUSTOMER filter."""
    assert coupler.couple("CUSTOMER", "C00090", "Northwind Traders").ok
    edit(demo_dir / "erp.db", "UPDATE customers SET blocked = 'All' WHERE number = 'C00090'")
    return "C00090"


def test_no_page_of_the_demo_says_local_or_integration(
    client: TestClient, conflict: str, coupler: Coupler, demo_dir: Path
) -> None:
    blocked = _blocked_partner(coupler, demo_dir)
    job = coupler.jobs(limit=1)[0].id
    pages = ["/", "/jobs", f"/jobs/{job}", "/errors", "/skipped", "/conflicts", "/tasks/unknown"]
    for mapping in coupler.systems.mappings:
        pages += [f"/mappings/{mapping.name}", f"/mappings/{mapping.name}/records"]
    pages += [
        f"/mappings/CUSTOMER/records/{conflict}",
        f"/mappings/CUSTOMER/records/{blocked}",
        "/mappings/CUSTOMER/records/C00010",
        "/mappings/CUSTOMER/records/C00010/couple",
        f"/mappings/CUSTOMER/sync?ref={conflict}",
        f"/mappings/CUSTOMER/decouple?ref={conflict}",
        "/mappings/CUSTOMER/records/C99999",
        "/mappings/CUSTOMER/lookup?q=Fab",
    ]
    pages += [f"/jobs/{j.id}" for j in coupler.jobs(limit=5)]
    pages += [f"/mappings/CUSTOMER/records/{conflict}?job={j.id}" for j in coupler.jobs(limit=5)]
    said = {}
    for path in pages:
        text = PAGE_NAME.sub("", visible(client.get(path, headers=HTML).text))
        found = [*INTERNAL.finditer(text), *OLD_WORDS.finditer(text), *COMMAND.finditer(text)]
        if found:
            said[path] = [text[max(0, m.start() - 40) : m.end() + 40] for m in found][:3]
    assert said == {}, said
    names = visible(client.get("/mappings/CUSTOMER", headers=HTML).text)
    assert "Business Central" in names and "Dynamics 365 Sales" in names


def test_the_card_names_fields_by_caption_and_formats_values(client: TestClient, fabrikam: str) -> None:
    text = visible(client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text)
    assert "Customer C00070 Fabrikam, Inc." in text, "the record by its number and name"
    for caption in ("Post Code", "Credit Limit (LCY)", "Salesperson Code", "Payment Terms Code"):
        assert caption in text
    for api_name in ("postalCode", "address1_postalcode", "creditlimit", "ownerid"):
        assert api_name not in text
    assert re.search(r"Coupled at \d{4}-\d\d-\d\d \d\d:\d\d UTC, (just now|\d+ minutes? ago)", text), text
    assert re.search(r"\b\d{1,3}(,\d{3})+\b", text), "the credit limit with thousands separators"
    owner = text.split("Salesperson Code", 1)[1][:120]
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", owner), f"the owner by name, not its GUID: {owner}"


def _linked_pair(page: str, before: str, ref: str, local: str, between: str, integration: str) -> str:
    """Where the notice's link to the integration record goes, after asserting that it names both records of a
    pair, each linked to its card."""
    found = re.search(
        re.escape(f'{before}<a href="/mappings/CUSTOMER/records/{ref}">{local}</a>{between}<a href="')
        + r'(/mappings/CUSTOMER/records/[^"]+)">'
        + re.escape(f"{integration}</a>"),
        page,
    )
    assert found is not None, page.split('class="notice', 1)[-1][:800]
    return found.group(1)


def test_decouple_asks_first_and_the_notice_couples_again(client: TestClient, csrf: str, fabrikam: str) -> None:
    card = client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text
    assert 'hx-get="/mappings/CUSTOMER/decouple?ref=C00070"' in card, "Decouple opens a dialog; it does not post"
    assert 'action="/mappings/CUSTOMER/records/C00070/decouple"' not in card
    dialog = client.get("/mappings/CUSTOMER/decouple?ref=C00070", headers={**HTML, "hx-request": "true"}).text
    assert 'role="alertdialog"' in dialog and 'aria-describedby="decouple-what"' in dialog
    assert "Decouple C00070 Fabrikam, Inc.?" in visible(dialog)
    assert "Business Central Customer C00070 Fabrikam, Inc. and the Dynamics 365 Sales Account Fabrikam, Inc." in (
        visible(dialog)
    )
    form = {"csrf_token": csrf, "ref": "C00070", "back": "/mappings/CUSTOMER/records/C00070"}
    done = client.post("/mappings/CUSTOMER/records/decouple", data=form, follow_redirects=False)
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("/mappings/CUSTOMER/records/C00070?job=")
    page = client.get(location, headers=HTML).text
    assert "Decoupled C00070 Fabrikam, Inc. from Fabrikam, Inc." in visible(page) and "Not coupled." in page
    account = _linked_pair(page, "Decoupled ", "C00070", "C00070 Fabrikam, Inc.", " from ", "Fabrikam, Inc.")
    opened = client.get(account, headers=HTML)
    assert opened.status_code == 200 and "Dynamics 365 Sales Account" in visible(opened.text)
    assert "<title>CUSTOMER Fabrikam, Inc." in opened.text, "the account's link opens the account's card"
    undo = re.search(r'action="(/jobs/[^"]+/undo)"', page)
    assert undo is not None and "Undo: couple them again" in page
    again = client.post(undo.group(1), data={"csrf_token": csrf, "back": "/mappings/CUSTOMER/records/C00070"})
    assert again.status_code == 200 and "Coupled to" in again.text
    assert "Coupled C00070 Fabrikam, Inc. with Fabrikam, Inc." in visible(again.text)
    assert (
        _linked_pair(again.text, "Coupled ", "C00070", "C00070 Fabrikam, Inc.", " with ", "Fabrikam, Inc.") == account
    )
    twice = client.post(undo.group(1), data={"csrf_token": csrf}, headers=HTML)
    assert twice.status_code == 422 and "nothing to undo" in twice.text


def test_a_selection_is_decoupled_after_the_dialog_and_can_be_coupled_again(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler
) -> None:
    assert coupler.couple("CUSTOMER", "C00090", "Northwind Traders").ok
    listing = client.get("/mappings/CUSTOMER/records", headers=HTML).text
    assert 'hx-get="/mappings/CUSTOMER/decouple"' in listing
    dialog = visible(client.get("/mappings/CUSTOMER/decouple?ref=C00070&ref=C00090&ref=C00010", headers=HTML).text)
    assert "Decouple 2 CUSTOMER records?" in dialog
    assert "Left out, not coupled: Customer C00010 Adatum Corporation" in dialog
    assert "C00090 Northwind Traders ⇄ Northwind Traders" in dialog
    form = {"csrf_token": csrf, "ref": ["C00070", "C00090"]}
    page = client.post("/mappings/CUSTOMER/records/decouple", data=form, headers=HTML).text
    assert "Decoupled 2 CUSTOMER records." in visible(page)
    _linked_pair(page, "<li>", "C00070", "C00070 Fabrikam, Inc.", " from ", "Fabrikam, Inc.")
    _linked_pair(page, "<li>", "C00090", "C00090 Northwind Traders", " from ", "Northwind Traders")
    assert coupler.systems.store.stats("CUSTOMER").couplings == 0
    undo = re.search(r'action="(/jobs/[^"]+/undo)"', page)
    assert undo is not None
    client.post(undo.group(1), data={"csrf_token": csrf})
    assert coupler.systems.store.stats("CUSTOMER").couplings == 2


def test_a_record_outside_the_filter_says_so_on_its_card_and_in_the_list(
    client: TestClient, coupler: Coupler, demo_dir: Path
) -> None:
    blocked = _blocked_partner(coupler, demo_dir)
    card = visible(client.get(f"/mappings/CUSTOMER/records/{blocked}", headers=HTML).text)
    assert "Outside the filter: Blocked is All." in card
    listing = client.get("/mappings/CUSTOMER/records?filter=coupled", headers=HTML).text
    row = next(r for r in listing.split("<tr>") if f">{blocked}</a>" in r)
    assert "outside the filter: Blocked is All" in visible(row)
    inside = visible(client.get("/mappings/CUSTOMER/records/C00010", headers=HTML).text)
    assert "Outside the filter" not in inside


def test_conflicts_name_fields_by_caption_and_resolve_by_it(
    client: TestClient, csrf: str, conflict: str, coupler: Coupler
) -> None:
    page = visible(client.get("/conflicts", headers=HTML).text)
    assert "City Odense Aalborg" in page and "address1_city" not in page
    assert "Use Dynamics 365 Sales values for the record" in page
    [parked] = coupler.conflicts("CUSTOMER")
    form = {"csrf_token": csrf, "mapping": "CUSTOMER", "key": parked.local_key, "use": "integration", "field": "City"}
    done = visible(client.post("/conflicts/resolve", data=form, headers=HTML).text)
    assert "C00070 Fabrikam, Inc.: the Dynamics 365 Sales values won for City." in done


def _job_page(client: TestClient, response: object) -> tuple[str, str]:
    """The page a form's post/redirect/get lands on (HTML and its visible text)."""
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert "job=" in location, location
    html = client.get(location, headers=HTML).text
    return html, visible(html)


def test_the_notice_after_synchronize_now_says_what_was_written_with_old_and_new_values(
    client: TestClient, csrf: str, fabrikam: str, demo_dir: Path
) -> None:
    card = visible(client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text)
    old_city = re.search(r"City (\S+)", card)
    assert old_city is not None
    edit(demo_dir / "erp.db", f"UPDATE customers SET city = 'Ottawa' WHERE number = '{fabrikam}'")
    form = {"csrf_token": csrf, "ref": fabrikam, "choice": "to-integration"}

    html, text = _job_page(client, client.post("/mappings/CUSTOMER/sync", data=form, follow_redirects=False))

    assert "Synchronize now (CUSTOMER), Business Central to Dynamics 365 Sales: 1 synchronized." in text
    assert f"Dynamics 365 Sales Account Fabrikam, Inc. updated: City {old_city.group(1)} → Ottawa" in text
    assert f'<a href="/mappings/CUSTOMER/records/{fabrikam}">Fabrikam, Inc.</a>' in html, "the record links to its card"


def test_a_value_too_long_says_so_in_their_words_with_the_buttons_that_help(
    client: TestClient, csrf: str, fabrikam: str, demo_dir: Path
) -> None:
    edit(demo_dir / "crm.db", "UPDATE account SET address1_city = '" + "x" * 50 + "' WHERE name = 'Fabrikam, Inc.'")
    form = {"csrf_token": csrf, "ref": fabrikam, "choice": "from-integration"}

    html, text = _job_page(client, client.post("/mappings/CUSTOMER/sync", data=form, follow_redirects=False))

    said = (
        "Dynamics 365 Sales Account Fabrikam, Inc.: City is 50 characters; Business Central allows 30. Shorten it in "
        "Dynamics 365 Sales, then synchronize the record again."
    )
    assert said in text and "1 failed" in text
    assert f'<a href="/mappings/CUSTOMER/records/{fabrikam}">{said}</a>' in html.replace("&#39;", "'")
    assert '<a class="button secondary" href="/errors?mapping=CUSTOMER">Open the errors</a>' in html
    errors = client.get("/errors?mapping=CUSTOMER", headers=HTML).text
    row = next(r for r in errors.split("<tr>") if "City is 50 characters" in r)
    assert "Open the record</a>" in row and "Retry</a>" in row and 'hx-get="/mappings/CUSTOMER/sync?ref=' in row
    card = client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text
    recent = card.split('id="recent-errors"', 1)[1]
    assert "City is 50 characters" in recent and "Retry: synchronize now</a>" in recent


def test_a_conflict_names_no_command_and_its_notice_links_to_the_conflicts_page(
    client: TestClient, conflict: str, coupler: Coupler
) -> None:
    job = coupler.jobs(limit=1)[0]
    html = client.get(f"/mappings/CUSTOMER/records/{conflict}?job={job.id}", headers=HTML).text
    text = visible(html)
    assert (
        "Business Central Customer C00070 Fabrikam, Inc.: Both records changed City to different values since the "
        "last synchronization" in text
    )
    assert '<a class="button secondary" href="/conflicts?mapping=CUSTOMER">Resolve the conflicts</a>' in html
    assert "coupler resolve" not in text
    recent = html.split('id="recent-errors"', 1)[1]
    assert 'href="/conflicts?mapping=CUSTOMER">Resolve the conflict</a>' in recent


def test_a_background_task_that_failed_records_is_not_done_and_the_counts_refresh(
    client: TestClient, csrf: str, fabrikam: str, demo_dir: Path, wait_task: Callable[[str], dict[str, object]]
) -> None:
    edit(demo_dir / "crm.db", "UPDATE account SET address1_city = '" + "y" * 40 + "' WHERE name = 'Fabrikam, Inc.'")
    started = client.post(
        "/mappings/CUSTOMER/sync-modified",
        data={"csrf_token": csrf, "back": "/mappings/CUSTOMER/records"},
        follow_redirects=False,
    )
    task_id = started.headers["location"].split("task=")[1]
    assert wait_task(task_id)["problems"] == "1 failed", "the API says so too"

    polled = client.get(f"/tasks/{task_id}", headers={**HTML, "hx-request": "true"})

    text = visible(polled.text)
    assert "finished with 1 failed" in text and "done —" not in text
    assert "notice-warning" in polled.text and polled.headers["HX-Trigger"] == "task-finished"
    assert "City is 40 characters; Business Central allows 30" in text, "the job's notice, with its errors"
    overview = client.get(f"/?task={task_id}", headers=HTML).text
    assert 'hx-trigger="task-finished from:body" hx-select="#mapping-counts"' in overview, "so do the counts"

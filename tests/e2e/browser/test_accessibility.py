"""Accessibility in a real browser: axe-core finds no violation (any impact) on every page and dialog, visible labels
are part of accessible names (axe-core's label-content-name-mismatch, switched on), and every element the keyboard
reaches shows a focus ring of at least 3:1 against what is around it. And the Set up coupling dialog's behaviour:
nothing looks chosen until the user picks (a single exact match is), Hide coupled records, identifying columns,
errors inside the dialog with the search kept, its actions in sight on a phone.

These tests couple, decouple and create records, so they serve a demo of their own (module fixtures ``demo`` and
``server`` override the shared ones); they run in order, each building on the last."""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from coupler.demo import create_demo
from coupler.entrypoints.web.app import create_app
from e2e.browser.accessibility import assert_accessible, contrast, focus_rings
from e2e.browser.conftest import serving

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_demo(tmp_path_factory.mktemp("a11y-demo") / "demo").directory


@pytest.fixture(scope="module")
def server(demo: Path) -> Iterator[str]:
    with serving(demo) as base:
        yield base


def settled(page: Page) -> None:
    """Wait until htmx has swapped and settled what it requested (the dialog, the lookup's results)."""
    busy = ".htmx-request, .htmx-added, .htmx-settling, .htmx-swapping"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def open_dialog(page: Page, opener: Locator) -> Locator:
    opener.click()
    dialog = page.locator("dialog#modal[open]")
    expect(dialog).to_be_visible()
    settled(page)
    return dialog


def close(dialog: Locator) -> None:
    dialog.get_by_role("button", name=re.compile("^(Cancel|Close)$")).click()
    expect(dialog).to_be_hidden()


def search(page: Page, dialog: Locator, text: str) -> None:
    dialog.get_by_role("searchbox").fill(text)
    expect(dialog.locator("#lookup-results")).to_have_attribute("data-q", text)
    settled(page)


def picked(dialog: Locator) -> Locator:
    return dialog.locator("#lookup-results input[name=integration]:checked")


# pages and dialogs, with axe-core ---------------------------------------------------------------------------------
def test_table_mappings_a_mapping_and_the_full_synchronization_confirmation(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Integration table mappings")).to_be_visible()
    assert_accessible(page)
    page.goto("/mappings/CUSTOMER")
    expect(page.get_by_role("group", name="Match-based coupling")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Run full synchronization").click()  # nothing coupled yet: asks first
    expect(page.get_by_role("heading", name="Full synchronization of CUSTOMER")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile("/mappings/CUSTOMER$"))


def test_match_based_coupling_of_what_customers_look_up(page: Page) -> None:
    for mapping in ("SALESPEOPLE", "CURRENCY"):
        page.goto(f"/mappings/{mapping}")
        page.get_by_role("button", name="Run match-based coupling").click()
        progress = page.locator("section.progress")
        expect(progress).to_contain_text("done", timeout=30_000)
        assert_accessible(page)  # the mapping page with a finished task
    page.get_by_role("button", name="Run full synchronization").click()  # CURRENCY: create the rest in the CRM
    expect(page.locator("section.progress")).to_contain_text("created", timeout=30_000)


def test_the_records_list_its_dialogs_and_a_task(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records")
    assert_accessible(page)
    for number in ("C00090", "C00110"):
        page.get_by_role("checkbox", name=f"Select {number}").check()
    dialog = open_dialog(page, page.get_by_role("button", name="Synchronize now"))
    expect(dialog.get_by_role("heading", name=re.compile("^Synchronize now: "))).to_be_visible()
    assert_accessible(page)
    close(dialog)
    dialog = open_dialog(page, page.get_by_role("button", name="Decouple"))
    assert_accessible(page)
    close(dialog)
    page.get_by_role("button", name="Match-based coupling").click()  # the two selected, in the background
    progress = page.locator("section.progress")
    expect(progress).to_contain_text("done", timeout=30_000)
    assert_accessible(page)
    task = re.search(r"task=([^&]+)", page.url)
    assert task, page.url
    page.goto(f"/tasks/{task.group(1)}")
    expect(page.locator("section.progress")).to_contain_text("Match-based coupling of 2 CUSTOMER records")
    assert_accessible(page)


def test_set_up_coupling_preselects_a_single_exact_match_and_nothing_else(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records/C00400")
    expect(page.get_by_text("Not coupled.")).to_be_visible()
    assert_accessible(page)  # the card of an uncoupled record
    dialog = open_dialog(page, page.get_by_role("link", name="Set up coupling"))
    expect(dialog.get_by_role("heading", name="Set up coupling: CUSTOMER C00400")).to_be_visible()
    expect(dialog.get_by_role("searchbox")).to_have_value("Northwind Electric Cars")
    expect(dialog.get_by_role("radio", name="NORTHWIND ELECTRIC CARS")).to_be_checked()  # the one exact match
    expect(dialog.locator("#couple-fields")).to_contain_text("and NORTHWIND ELECTRIC CARS")
    expect(dialog.get_by_role("checkbox", name="Hide coupled records")).to_be_checked()
    assert_accessible(page)
    search(page, dialog, "Be")  # prefixes only: nothing looks chosen
    expect(dialog.get_by_role("radio", name="Bellows College")).to_be_visible()
    expect(dialog.get_by_role("radio", name="Best For You Organics Company")).to_be_visible()
    expect(picked(dialog)).to_have_count(0)
    expect(dialog.locator("#couple-fields")).to_contain_text("pick a Dynamics 365 Sales record to compare them")
    expect(dialog.get_by_role("status")).to_contain_text("2 Dynamics 365 Sales records found")
    columns = dialog.locator("#lookup-results thead th").all_inner_texts()  # the mapping's first fields, by caption
    assert columns[:3] == ["Pick", "Name", "Address"] and len(columns) == 5, columns
    assert_accessible(page)
    dialog.get_by_role("radio", name="Bellows College").check()
    expect(dialog.locator("#couple-fields")).to_contain_text("C00400 Northwind Electric Cars and Bellows College")
    search(page, dialog, "Bel")  # the user's pick stays picked while the search finds it
    expect(dialog.get_by_role("radio", name="Bellows College")).to_be_checked()
    search(page, dialog, "NORTHWIND ELECTRIC CARS")
    expect(dialog.get_by_role("radio", name="NORTHWIND ELECTRIC CARS")).to_be_checked()
    dialog.get_by_role("searchbox").press("Enter")  # searches; never submits the dialog
    settled(page)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Couple", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Set up coupling (CUSTOMER): 1 coupled")
    expect(page.get_by_text("Coupled to")).to_be_visible()
    assert_accessible(page)  # the card of a coupled record, with the job's notice


def test_a_refusal_stays_inside_the_dialog_with_the_search_kept(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records/C00390")  # Fabrikam Residences: no account of its name
    dialog = open_dialog(page, page.get_by_role("link", name="Set up coupling"))
    expect(dialog.get_by_role("status")).to_contain_text("Nothing found")
    dialog.get_by_role("button", name="Couple", exact=True).click()  # nothing picked
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Pick the Dynamics 365 Sales record to couple with, or choose Create new.")
    expect(alert).to_be_focused()
    assert_accessible(page)
    search(page, dialog, "NORTH")
    expect(dialog.get_by_role("radio", name="NORTHWIND ELECTRIC CARS")).to_have_count(0)  # coupled: hidden
    dialog.get_by_role("checkbox", name="Hide coupled records").uncheck()
    settled(page)
    coupled = dialog.get_by_role("radio", name="NORTHWIND ELECTRIC CARS")
    expect(dialog.locator("#lookup-results")).to_contain_text("coupled to C00400")
    coupled.check()
    dialog.get_by_role("button", name="Couple", exact=True).click()
    expect(dialog.get_by_role("alert")).to_contain_text("already coupled")
    expect(page).to_have_url(re.compile("/mappings/CUSTOMER/records/C00390$"))  # no error page
    expect(dialog.get_by_role("searchbox")).to_have_value("NORTH")
    expect(dialog.get_by_role("checkbox", name="Hide coupled records")).not_to_be_checked()
    expect(dialog.get_by_role("radio", name="NORTHWIND ELECTRIC CARS")).to_be_checked()
    assert_accessible(page)
    dialog.get_by_role("button", name="Create new").click()  # the card, with the job's notice (its salesperson is
    expect(page.locator("#notices")).to_contain_text("Create and couple (CUSTOMER)")  # not coupled: it fails)
    expect(page).to_have_url(re.compile("/mappings/CUSTOMER/records/C00390[?]job="))


def test_the_dialog_actions_stay_in_sight_on_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/mappings/CUSTOMER/records/C00080")
    dialog = open_dialog(page, page.get_by_role("link", name="Set up coupling"))
    dialog.get_by_role("checkbox", name="Hide coupled records").uncheck()
    settled(page)
    search(page, dialog, "")  # every account: the dialog is taller than the phone
    assert dialog.evaluate("d => d.scrollHeight > d.clientHeight"), "the dialog scrolls"
    assert dialog.evaluate("d => d.scrollWidth <= d.clientWidth"), "no sideways scrolling"
    for where in ("top", "bottom"):
        dialog.evaluate(f"d => d.scrollTo(0, {'0' if where == 'top' else 'd.scrollHeight'})")
        for action in ("Couple", "Create new", "Cancel"):
            expect(dialog.get_by_role("button", name=action, exact=True)).to_be_in_viewport()
    assert_accessible(page)


def test_the_coupled_card_and_its_dialogs(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records/C00400")
    assert_accessible(page)
    dialog = open_dialog(page, page.get_by_role("link", name="Synchronize now"))
    expect(dialog.get_by_role("radio", name="Get data from Dynamics 365 Sales")).to_be_visible()
    assert_accessible(page)
    close(dialog)
    dialog = page.get_by_role("alertdialog")
    page.get_by_role("link", name="Decouple").click()
    expect(dialog).to_contain_text("Both records stay as they are")
    settled(page)
    assert_accessible(page)
    close(page.locator("dialog#modal"))


def test_the_log_a_job_errors_skipped_and_conflicts(page: Page, demo: Path) -> None:
    with sqlite3.connect(demo / "erp.db") as erp:
        erp.execute("UPDATE customers SET city = 'Odense' WHERE number = 'C00400'")
    with sqlite3.connect(demo / "crm.db") as crm:
        crm.execute("UPDATE account SET address1_city = 'Aalborg' WHERE name = 'NORTHWIND ELECTRIC CARS'")
    page.goto("/mappings/CUSTOMER")
    page.get_by_role("button", name="Synchronize modified records").click()
    expect(page.locator("section.progress")).to_contain_text("in conflict", timeout=30_000)
    page.goto("/jobs")
    assert_accessible(page)
    page.get_by_role("table").get_by_role("link").first.click()  # the newest job
    expect(page).to_have_url(re.compile("/jobs/[^/]+$"))
    assert_accessible(page)
    page.goto("/errors")
    changed = re.compile("C00400 Northwind Electric Cars: Both records changed")
    expect(page.get_by_role("cell", name=changed)).to_be_visible()
    assert_accessible(page)
    page.goto("/skipped")
    assert_accessible(page)
    page.goto("/conflicts")
    expect(page.get_by_role("cell", name="Aalborg").first).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize(
    "path",
    [
        "/mappings/CUSTOMER/records/C00080/couple",
        "/mappings/CUSTOMER/sync?ref=C00400",
        "/mappings/CUSTOMER/decouple?ref=C00400",
    ],
)
def test_the_dialogs_as_pages_without_javascript(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator(".panel .dialog-actions")).to_be_visible()
    assert_accessible(page)


def test_set_up_coupling_as_a_page_keeps_its_refusals_on_the_page(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records/C00080/couple")
    page.get_by_role("button", name="Couple", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Pick the Dynamics 365 Sales record to couple with")
    expect(page).to_have_url(re.compile("/mappings/CUSTOMER/records/C00080/couple$"))
    expect(page.get_by_role("heading", name="Set up coupling: CUSTOMER C00080")).to_be_visible()
    assert_accessible(page)


def test_the_error_page(page: Page) -> None:
    answer = page.goto("/mappings/NOPE/records")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("No table mapping is named")
    assert_accessible(page)


def test_the_login_page(page: Page, demo: Path) -> None:
    """The page a browser gets when the app asks for its access token (served here as the app renders it, since the
    shared server runs without a token), before and after a wrong token."""
    with warnings.catch_warnings():  # as in tests/integration/web/conftest.py
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from starlette.testclient import TestClient
    with TestClient(create_app(demo / "coupler.toml", token="a11y-" + "t" * 40), base_url="http://127.0.0.1") as app:
        asking = app.get("/login").text
        refused = app.post("/login", data={"token": "wrong", "csrf_token": app.cookies.get("coupler_csrf")}).text
    assert "That access token is not right." in refused
    for body in (asking, refused):
        page.route("**/login", partial(_serve_page, body))
        page.goto("/login")
        expect(page.get_by_label("Access token")).to_be_visible()
        assert_accessible(page)
        page.unroute("**/login")


def _serve_page(body: str, route: Route) -> None:
    route.fulfill(body=body, content_type="text/html")


# the focus ring --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/", "/mappings/CUSTOMER", "/mappings/CUSTOMER/records", "/mappings/CUSTOMER/records/C00400", "/conflicts"]
)
def test_every_focusable_element_shows_a_focus_ring_of_3_to_1(page: Page, path: str) -> None:
    page.goto(path)
    assert_focus_rings(page, least=8)


def test_the_set_up_coupling_dialog_shows_a_focus_ring_of_3_to_1(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records/C00080")
    open_dialog(page, page.get_by_role("link", name="Set up coupling"))
    assert_focus_rings(page, least=6)


def assert_focus_rings(page: Page, *, least: int) -> None:
    rings = focus_rings(page)
    assert len(rings) >= least, [r.element for r in rings]
    weak = [
        f"{r.element}: {r.style} {r.width}px, {r.contrast:.2f}:1 against rgb{r.background}"
        for r in rings
        if r.style in ("none", "hidden") or r.width < 2 or r.contrast < 3
    ]
    assert not weak, "focus rings under 3:1 (or missing):\n" + "\n".join(weak)
    kinds = {r.element.split()[0].split("#")[0].split("[")[0] for r in rings}
    assert kinds & {"a", "button", "input"}, kinds


def test_contrast_is_computed_as_wcag_says() -> None:
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((0xB4, 0x53, 0x09), (255, 255, 255)), 2) == 5.02  # the focus ring on white
    assert contrast((0xF5, 0x9E, 0x0B), (255, 255, 255)) < 3, "the old amber ring on white"

"""The seed's flows in a real browser against `coupler serve` on the demo: couple a customer from its card, synchronize
one record choosing a direction, select several customers and synchronize them, create-and-couple, decouple, the log
and errors pages, and a conflict resolved in the UI. The tests run in order on one server (each builds on the last)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

# One worker runs them all, in order: they share one server and one demo (module fixtures), and two Chromiums at
# once on a small machine time out.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def shot(page: Page, folder: Path, name: str, *, full: bool = True) -> None:
    """A screenshot of the page (a dialog: of the window, where its backdrop is)."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


def settled(page: Page) -> None:
    """Wait until htmx has settled what it swapped in: it wires the new elements' own htmx attributes (a lookup's
    search-as-you-type) only then, some 20 ms after the dialog shows. A person cannot type that fast; a test can."""
    page.wait_for_function("() => !document.querySelector('.htmx-added, .htmx-settling, .htmx-swapping')")


def test_mappings_page_and_a_mapping(page: Page, screenshots: Path) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Integration table mappings")).to_be_visible()
    expect(page.get_by_role("link", name="CUSTOMER", exact=True)).to_be_visible()
    shot(page, screenshots, "01-mappings")
    page.get_by_role("link", name="CUSTOMER", exact=True).click()
    expect(page.get_by_role("heading", name="Field mappings")).to_be_visible()
    expect(page.get_by_text("Recommendation:")).to_be_visible()
    shot(page, screenshots, "02-mapping-customer")
    for mapping in ("SALESPEOPLE", "CURRENCY"):  # what customers look up must be coupled first
        page.goto(f"/mappings/{mapping}")
        page.get_by_role("button", name="Run match-based coupling").click()
        progress = page.locator("section.progress")
        expect(progress).to_contain_text("done", timeout=30_000)
        expect(progress).to_contain_text("coupled")
    page.get_by_role("button", name="Run full synchronization").click()  # CURRENCY: create the rest in the CRM
    expect(page.locator("section.progress")).to_contain_text("created", timeout=30_000)
    shot(page, screenshots, "02b-full-sync-done")


def test_couple_a_customer_from_its_card(page: Page, screenshots: Path) -> None:
    page.goto("/mappings/CUSTOMER/records/C00070")
    expect(page.get_by_text("Not coupled.")).to_be_visible()
    page.get_by_role("link", name="Set up coupling").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Set up coupling: CUSTOMER C00070")).to_be_visible()
    lookup = dialog.get_by_role("searchbox")
    settled(page)
    lookup.fill("Fabri")
    expect(dialog.locator("#lookup-results")).not_to_contain_text("exact")  # a prefix now, no longer exact
    expect(dialog.get_by_role("radio", name="Fabrikam, Inc.")).to_be_visible()
    dialog.get_by_role("radio", name="Fabrikam, Inc.").check()
    expect(dialog.locator("#couple-fields")).to_contain_text("C00070 Fabrikam, Inc. and Fabrikam, Inc.")
    shot(page, screenshots, "03-set-up-coupling", full=False)
    dialog.get_by_role("button", name="Couple", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Set up coupling (CUSTOMER): 1 coupled")
    expect(page.get_by_text("Coupled to")).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text("Fabrikam, Inc.")


def test_synchronize_one_record_choosing_a_direction(page: Page, screenshots: Path) -> None:
    page.goto("/mappings/CUSTOMER/records/C00070")
    page.get_by_role("link", name="Synchronize now").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Synchronize now: CUSTOMER C00070")).to_be_visible()
    expect(dialog.get_by_role("radio", name="Get data from Dynamics 365 Sales")).to_be_visible()
    dialog.get_by_role("radio", name="Send Business Central data to Dynamics 365 Sales").check()
    shot(page, screenshots, "04-synchronize-now", full=False)
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status").first).to_contain_text("Synchronize now (CUSTOMER)")
    expect(page.locator("tr.differs")).to_have_count(0)
    shot(page, screenshots, "05-customer-card-coupled")


def test_match_select_several_and_synchronize_them(page: Page, screenshots: Path) -> None:
    page.goto("/mappings/CUSTOMER/records")
    page.get_by_role("button", name="Match-based coupling").click()  # nothing selected: says what to do
    expect(page.get_by_role("alert")).to_contain_text("Select the records to match first")
    page.goto("/mappings/CUSTOMER/records")
    page.get_by_role("checkbox", name="Select all records on this page").check()
    page.get_by_role("button", name="Match-based coupling").click()
    expect(page.locator("section.progress")).to_contain_text("Match-based coupling of 34 CUSTOMER records")
    expect(page.locator("section.progress")).to_contain_text("done", timeout=30_000)
    expect(page.locator("section.progress")).to_contain_text("14 coupled")
    expect(page.locator("section.progress").get_by_role("link", name="Open the job")).to_be_visible()
    page.get_by_label("Show").select_option("coupled")
    expect(page.get_by_role("checkbox", name="Select C00090")).to_be_visible()
    shot(page, screenshots, "06-records-coupled")
    for number in ("C00090", "C00110", "C00120"):
        page.get_by_role("checkbox", name=f"Select {number}").check()
    page.get_by_role("button", name="Synchronize now").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Synchronize now: CUSTOMER, 3 records")).to_be_visible()
    dialog.get_by_role("radio", name="Get data from Dynamics 365 Sales").check()
    shot(page, screenshots, "07-synchronize-selection", full=False)
    dialog.get_by_role("button", name="OK").click()
    notice = page.get_by_role("status").first
    expect(notice).to_contain_text("Synchronize now (CUSTOMER)")
    expect(notice.get_by_role("link", name="Open the job")).to_be_visible()


def test_create_and_couple_then_decouple(page: Page, screenshots: Path) -> None:
    page.goto("/mappings/CUSTOMER/records/C00010")
    page.get_by_role("link", name="Set up coupling").click()
    dialog = page.locator("dialog#modal")
    dialog.get_by_role("button", name="Create new").click()
    expect(page.get_by_role("status").first).to_contain_text("Create and couple (CUSTOMER)")
    expect(page.locator("dl.facts").first).to_contain_text("Adatum Corporation")
    page.get_by_role("link", name="Decouple").click()  # asks first, in a dialog
    confirm = page.get_by_role("alertdialog", name="Decouple C00010 Adatum Corporation?")
    expect(confirm).to_contain_text("Both records stay as they are")
    shot(page, screenshots, "07b-decouple-confirm", full=False)
    confirm.get_by_role("button", name="Decouple").click()
    notice = page.get_by_role("status").first
    expect(notice).to_contain_text("Decoupled C00010 Adatum Corporation from Adatum Corporation")
    expect(page.get_by_text("Not coupled.")).to_be_visible()
    notice.get_by_role("button", name="Undo: couple them again").click()
    again = page.get_by_role("status").first
    expect(again).to_contain_text("Coupled C00010 Adatum Corporation with Adatum Corporation again.")
    expect(again.get_by_role("link", name="C00010 Adatum Corporation")).to_have_attribute(
        "href", "/mappings/CUSTOMER/records/C00010"
    )
    expect(page.locator("dl.facts").first).to_contain_text("Adatum Corporation")


def test_a_conflict_resolved_in_the_ui_and_the_log_and_errors(page: Page, screenshots: Path, demo: Path) -> None:
    with sqlite3.connect(demo / "erp.db") as erp:
        erp.execute("UPDATE customers SET city = 'Odense' WHERE number = 'C00070'")
    with sqlite3.connect(demo / "crm.db") as crm:
        crm.execute("UPDATE account SET address1_city = 'Aalborg' WHERE name = 'Fabrikam, Inc.'")
    page.goto("/mappings/CUSTOMER")
    page.get_by_role("button", name="Synchronize modified records").click()
    expect(page.locator("section.progress")).to_contain_text("in conflict", timeout=30_000)
    page.goto("/mappings/CUSTOMER/records/C00070")
    expect(page.locator("tr.differs")).to_contain_text("Odense")
    shot(page, screenshots, "08-card-in-conflict")
    page.get_by_role("link", name="Conflicts", exact=True).click()
    expect(page.get_by_role("cell", name="Aalborg")).to_be_visible()
    shot(page, screenshots, "09-conflicts")
    page.get_by_role("button", name="Use Dynamics 365 Sales value of City for C00070 Fabrikam, Inc.").click()
    expect(page.get_by_role("status").first).to_contain_text("Conflict resolved (CUSTOMER)")
    expect(page.get_by_role("status").first).to_contain_text(
        "C00070 Fabrikam, Inc.: the Dynamics 365 Sales values won for City"
    )
    expect(page.get_by_role("region", name="CUSTOMER C00070 Fabrikam, Inc. ⇄ Fabrikam, Inc.")).to_have_count(0)
    with sqlite3.connect(demo / "erp.db") as erp:
        assert erp.execute("SELECT city FROM customers WHERE number = 'C00070'").fetchone()[0] == "Aalborg"
    page.get_by_role("link", name="Synchronization log").click()
    expect(page.get_by_role("cell", name="Conflict resolved")).to_be_visible()
    shot(page, screenshots, "10-log")
    page.get_by_role("link", name="Errors", exact=True).click()
    conflict = "Business Central Customer C00070 Fabrikam, Inc.: Both records changed"
    expect(page.get_by_role("cell", name=conflict)).to_be_visible()
    shot(page, screenshots, "11-errors")
    page.get_by_role("link", name="Skipped records").click()
    expect(page.get_by_role("heading", name="Skipped records")).to_be_visible()
    shot(page, screenshots, "12-skipped")


def test_phone_width_and_keyboard(page: Page, screenshots: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/mappings/CUSTOMER/records/C00070")
    shot(page, screenshots, "13-card-phone")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

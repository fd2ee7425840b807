"""The records list in a real browser: sorting by a column header both ways, paging forward and back, "Select all N
matching" for Match-based coupling and Synchronize now, and Synchronize now on a record not coupled creating it.

Its own customers (numbers R00010 ...), added to the shared demo, so that the other browser tests' records are left
as they expect them."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OWN = [(f"R{n:04d}0", f"Records Test {chr(ord('A') + n)}") for n in range(1, 9)]
"""Eight customers: R00010 Records Test B ... R00080 Records Test I; the first six have an account of their name."""


@pytest.fixture(scope="module")
def own_customers(demo: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(demo / "erp.db")) as erp, erp:
        erp.executemany(
            'INSERT INTO customers (id, number, "displayName") VALUES (?, ?, ?)',
            [(str(uuid.uuid4()), number, name) for number, name in OWN],
        )
    with closing(sqlite3.connect(demo / "crm.db")) as crm, crm:
        crm.executemany(
            "INSERT INTO account (accountid, name, customertypecode) VALUES (?, ?, 3)",
            [(str(uuid.uuid4()), name) for _, name in OWN[:6]],
        )
    return OWN


def _numbers(page: Page) -> list[str]:
    return page.locator("#records tbody th[scope=row] a").all_inner_texts()


def _names(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#records tbody tr td:nth-child(3)").all_inner_texts()]


def test_a_column_header_sorts_the_list_both_ways(page: Page, screenshots: Path) -> None:
    page.goto("/mappings/CUSTOMER/records")
    number = page.get_by_role("columnheader", name="No.")
    expect(number).to_have_attribute("aria-sort", "ascending")
    numbers = _numbers(page)
    assert numbers == sorted(numbers)
    page.get_by_role("columnheader", name="Name").get_by_role("link").click()
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "ascending")
    assert _names(page) == sorted(_names(page))
    page.get_by_role("columnheader", name="Name").get_by_role("link").click()  # again: the other way
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "descending")
    names = _names(page)
    assert names == sorted(names, reverse=True)
    expect(page.get_by_role("columnheader", name="No.")).not_to_have_attribute("aria-sort", "ascending")
    shot = screenshots / "20-records-sorted-by-name.png"
    page.screenshot(path=str(shot), full_page=False)


def test_previous_page_comes_back_to_the_same_records(page: Page) -> None:
    page.goto("/mappings/CUSTOMER/records?limit=5")
    first = _numbers(page)
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    page.get_by_role("link", name="Next page").click()
    second = _numbers(page)
    assert second and second[0] > first[-1]
    page.get_by_role("link", name="Next page").click()
    page.get_by_role("link", name="Previous page").click()
    assert _numbers(page) == second
    page.get_by_role("link", name="Previous page").click()
    assert _numbers(page) == first
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)


def test_select_all_matching_couples_and_synchronizes_every_match(
    page: Page, screenshots: Path, own_customers: list[tuple[str, str]]
) -> None:
    page.goto("/mappings/CUSTOMER/records?q=Records+Test&limit=3")
    expect(page.locator("#records-count")).to_contain_text("8 records, showing 3")
    offer = page.locator("#select-matching")
    expect(offer).to_be_hidden()
    page.get_by_role("checkbox", name="Select all records on this page").check()
    expect(offer).to_contain_text("All 3 records on this page are selected.")
    page.get_by_role("button", name="Select all 8 matching records").click()
    expect(offer).to_contain_text("All 8 matching records are selected.")
    shot = screenshots / "21-records-select-all-matching.png"
    page.screenshot(path=str(shot), full_page=False)
    page.get_by_role("button", name="Match-based coupling").click()
    progress = page.locator("section.progress")
    expect(progress).to_contain_text("Match-based coupling of every matching CUSTOMER record")
    expect(progress).to_contain_text("done", timeout=30_000)
    expect(progress).to_contain_text("6 coupled")

    page.goto("/mappings/CUSTOMER/records?q=Records+Test&limit=3")
    page.get_by_role("checkbox", name="Select all records on this page").check()
    page.get_by_role("button", name="Select all 8 matching records").click()
    page.get_by_role("button", name="Synchronize now").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Synchronize now: CUSTOMER, every matching record (8)")).to_be_visible()
    dialog.get_by_role("radio", name="Send Business Central data to Dynamics 365 Sales").check()
    dialog.get_by_role("button", name="OK").click()
    progress = page.locator("section.progress")
    expect(progress).to_contain_text("Synchronize every matching CUSTOMER record")
    expect(progress).to_contain_text("done", timeout=30_000)
    expect(progress).not_to_contain_text("failed")


def test_synchronize_now_on_a_record_not_coupled_creates_it(
    page: Page, screenshots: Path, own_customers: list[tuple[str, str]]
) -> None:
    number, name = own_customers[-1]  # no account of its name: not coupled by the matching above
    page.goto(f"/mappings/CUSTOMER/records/{number}")
    expect(page.get_by_text("Not coupled.")).to_be_visible()
    page.get_by_role("link", name="Synchronize now").click()
    dialog = page.locator("dialog#modal")
    expect(dialog).to_contain_text(f"Customer {number} {name} is not coupled. Create it in Dynamics 365 Sales?")
    page.screenshot(path=str(screenshots / "22-synchronize-now-not-coupled.png"), full_page=False)
    dialog.get_by_role("button", name="Create").click()
    notice = page.get_by_role("status").first
    expect(notice).to_contain_text(f"Created the Dynamics 365 Sales Account from {number} {name}")
    expect(page.locator("dl.facts").first).to_contain_text(name)

"""The notice after an action in a real browser, on ITEM-PRODUCT (a mapping the other browser tests leave alone): a
background full synchronization that parks conflicts says so instead of "done", lists the records it created linked
to their cards, and offers Resolve the conflicts, which this test then resolves (leaving no conflict behind)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .test_browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_a_task_with_conflicts_says_so_and_its_notice_links_the_records_and_the_conflicts(
    page: Page, screenshots: Path
) -> None:
    page.goto("/mappings/ITEM-PRODUCT")
    page.get_by_role("button", name="Run match-based coupling").click()
    progress = page.locator("section.progress")
    expect(progress).to_contain_text("done", timeout=30_000)
    page.goto("/mappings/ITEM-PRODUCT")
    page.get_by_role("button", name="Run full synchronization").click()
    progress = page.locator("section.progress")
    expect(progress).to_contain_text(re.compile(r"finished with \d+ conflicts?"), timeout=30_000)
    expect(progress).not_to_contain_text("done —")
    expect(progress).to_contain_text("Dynamics 365 Sales")
    expect(progress.locator("ul.written li").first).to_contain_text("created")
    shot(page, screenshots, "notice-task-with-conflicts")

    first = progress.locator("ul.written li a").first
    number = first.inner_text()
    href = first.get_attribute("href") or ""
    assert href.startswith("/mappings/ITEM-PRODUCT/records/"), href

    progress.get_by_role("link", name="Resolve the conflicts").click()
    expect(page).to_have_url(re.compile(r"/conflicts\?mapping=ITEM-PRODUCT$"))
    resolve = page.get_by_role("button", name=re.compile(r"^Use Business Central values for the record "))
    while resolve.count():
        resolve.first.click()
        expect(page.get_by_role("status").first).to_contain_text("the Business Central values won")
        page.goto("/conflicts?mapping=ITEM-PRODUCT")
    expect(page.locator("section.panel")).to_have_count(0)

    page.goto(href)
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)

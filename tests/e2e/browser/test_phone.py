"""At a phone's width (390 x 844) nothing scrolls sideways: a coupled customer's card (its fields table stacks each
field's values under its caption), the records list and the Connection page.

The card is customer C00360 Baldwin Museum of Science, which no other browser test touches: it is created in
Dynamics 365 Sales and coupled here (through the JSON API, as a script would)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from .test_browser import shot
from .test_connection_and_card import _task

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CUSTOMER = "C00360"
NAME = "Baldwin Museum of Science"
PHONE = {"width": 390, "height": 844}
SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def coupled(server: str) -> str:
    """C00360 created in Dynamics 365 Sales and coupled (what customers look up is coupled first, when no test before
    did it)."""
    couplings = {m["name"]: m["counts"]["couplings"] for m in httpx.get(f"{server}/api/mappings", timeout=30).json()}
    for mapping in ("SALESPEOPLE", "CURRENCY"):
        if not couplings.get(mapping):
            _task(server, "match", {"mapping": mapping, "create_missing": mapping == "CURRENCY"})
    status = httpx.get(f"{server}/api/mappings/CUSTOMER/records/{CUSTOMER}", timeout=30).json()
    if status.get("coupling") is None:
        created = httpx.post(f"{server}/api/mappings/CUSTOMER/create", json={"ref": CUSTOMER}, timeout=30)
        assert created.status_code == 200 and created.json()["job"]["counters"]["coupled"] == 1, created.text
    return CUSTOMER


def _no_sideways_scrolling(page: Page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(SIDEWAYS), f"the page scrolls sideways: {width}"


def test_the_card_fields_table_fits_a_phone(page: Page, screenshots: Path, coupled: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"/mappings/CUSTOMER/records/{coupled}")
    fields = page.get_by_role("region", name="Fields")
    expect(fields.get_by_role("row", name="Name")).to_contain_text(NAME)
    _no_sideways_scrolling(page)
    wrap = fields.locator(".table-wrap")
    scroll, client = wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
    assert scroll <= client, f"the fields table scrolls sideways inside its frame: {scroll} > {client}"
    name = fields.get_by_role("row", name="Name")
    for cell in ("th", "td.value >> nth=0", "td.value >> nth=1"):
        box = name.locator(cell).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell, box)
    shot(page, screenshots, "card-fields-phone")


@pytest.mark.parametrize("path", ["/mappings/CUSTOMER/records", "/connection"])
def test_the_records_list_and_the_connection_page_fit_a_phone(page: Page, path: str, coupled: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _no_sideways_scrolling(page)

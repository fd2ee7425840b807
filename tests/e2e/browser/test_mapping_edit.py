"""Mappings edited in the browser, on ITEM-PRODUCT (which the other browser tests leave alone): a field mapping
switched off, another given a direction and a caption, both seen on the record card; match-based coupling on the
fields chosen in its dialog. Everything changed is put back at the end, through the API, for the tests after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MAPPING = "ITEM-PRODUCT"
DESCRIPTION, UNIT_PRICE = 1, 2  # positions of the field mappings in the demo's ITEM-PRODUCT


@pytest.fixture
def restored(server: str) -> Iterator[None]:
    """ITEM-PRODUCT as the demo has it, after the test: fields, match fields and no couplings."""
    yield
    with httpx.Client(base_url=server, timeout=30) as api:
        api.patch(f"/api/mappings/{MAPPING}/fields/0", json={"match": 1}).raise_for_status()
        api.patch(
            f"/api/mappings/{MAPPING}/fields/{DESCRIPTION}",
            json={"caption": "Description", "direction": "bidirectional", "match": 0},
        ).raise_for_status()
        api.patch(f"/api/mappings/{MAPPING}/fields/{UNIT_PRICE}", json={"enabled": True}).raise_for_status()
        blocked = {"field": "blocked", "op": "eq", "value": 0}
        api.patch(f"/api/mappings/{MAPPING}", json={"local_filter": [blocked]}).raise_for_status()
        task = api.post("/api/tasks/decouple-all", json={"mapping": MAPPING}).json()["id"]
        deadline = time.monotonic() + 30
        while api.get(f"/api/tasks/{task}").json()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.1)


def test_a_field_switched_off_and_another_redirected_and_renamed_show_on_the_card(
    page: Page, screenshots: Path, restored: None
) -> None:
    page.goto(f"/mappings/{MAPPING}")
    price = page.locator(f"tr#field-{UNIT_PRICE}")
    price.get_by_label("Unit Price enabled").select_option("false")
    price.get_by_role("button", name="Save Unit Price").click()
    expect(page.get_by_role("status").first).to_have_text("Unit Price: switched off.")
    expect(page.locator(f"tr#field-{UNIT_PRICE}").get_by_label("Unit Price enabled")).to_have_value("false")

    description = page.locator(f"tr#field-{DESCRIPTION}")
    description.get_by_label("Direction of Description").select_option(label="To Dynamics 365 Sales")
    description.get_by_label("Caption of Description").fill("Item Description")
    description.get_by_role("button", name="Save Description").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Description: caption is now Item Description; Item Description: direction is now To Dynamics 365 Sales."
    )
    page.screenshot(path=str(screenshots / "20-mapping-edited.png"), full_page=True)

    # match-based coupling on the description alone, for this run
    dialog = page.get_by_role("group", name="Match-based coupling")
    dialog.get_by_label("No.", exact=True).fill("")
    dialog.get_by_label("Item Description", exact=True).fill("1")
    page.screenshot(path=str(screenshots / "21-match-fields.png"), full_page=True)
    dialog.get_by_role("button", name="Run match-based coupling").click()
    progress = page.locator("section.progress")
    expect(progress).to_contain_text("done", timeout=30_000)
    expect(progress).to_contain_text("6 coupled")
    expect(progress).to_contain_text("Match-based coupling of ITEM-PRODUCT on Item Description")
    page.reload()
    expect(page.get_by_role("group", name="Match-based coupling").get_by_label("No.", exact=True)).to_have_value("1")

    page.goto(f"/mappings/{MAPPING}/records/1896-S")
    expect(page.get_by_text("Coupled to")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Item Description")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Unit Price")).to_have_count(0)
    page.screenshot(path=str(screenshots / "22-card-after-mapping-edit.png"), full_page=True)


def test_a_filter_is_edited_in_the_users_words_and_a_wrong_value_is_named(page: Page, restored: None) -> None:
    page.goto(f"/mappings/{MAPPING}")
    page.get_by_text("Change captions and filters").click()
    form = page.locator("form#filter-local")
    expect(form.get_by_label("Business Central filter, field of condition 1")).to_have_value("blocked")
    form.get_by_label("Business Central filter, field of condition 2").select_option(label="Unit Price")
    form.get_by_label("Business Central filter, condition 2").select_option(label="is more than")
    form.get_by_role("button", name="Save the Business Central filter").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was changed. Business Central filter, Unit Price: is more than needs a value."
    )
    form = page.locator("form#filter-local")
    form.get_by_label("Business Central filter, field of condition 2").select_option(label="Unit Price")
    form.get_by_label("Business Central filter, condition 2").select_option(label="is more than")
    form.get_by_label("Business Central filter, value of condition 2").fill("0")
    form.get_by_role("button", name="Save the Business Central filter").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Business Central filter: Blocked is 0 and Unit Price is more than 0."
    )
    page.get_by_text("Change captions and filters").click()
    form = page.locator("form#filter-local")
    form.get_by_label("Business Central filter, field of condition 2").select_option("")
    form.get_by_role("button", name="Save the Business Central filter").click()
    expect(page.get_by_role("status").first).to_have_text("Business Central filter: Blocked is 0.")

"""The Connection page and the record card's Dynamics 365 Sales panel in a real browser, on the shared demo server:
the Enabled switch pauses synchronization (a banner on every page says so, the API refuses with the reason) and
resumes it; the mappings' runs show as history bars; a coupled customer's card has its panel beside the fields on a
laptop and under them on a phone, with no sideways scrolling.

The tests use customer C00330 First Up Consultants, which no other browser test touches: it is created in Dynamics
365 Sales and coupled here (through the JSON API, as a script would)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from .test_browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CUSTOMER = "C00330"
NAME = "First Up Consultants"


def _task(server: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a background task through the API and wait for it (60 s at most)."""
    task: dict[str, Any] = httpx.post(f"{server}/api/tasks/{path}", json=body, timeout=30).json()
    deadline = time.monotonic() + 60
    while task.get("state") == "running":
        assert time.monotonic() < deadline, task
        time.sleep(0.1)
        task = httpx.get(f"{server}/api/tasks/{task['id']}", timeout=30).json()
    return task


@pytest.fixture(scope="module")
def coupled(server: str) -> str:
    """C00330 created in Dynamics 365 Sales and coupled, synchronized both ways, and a few rounds of synchronizing
    modified records in the log (what the customers look up is coupled first, when no test before did it)."""
    couplings = {m["name"]: m["counts"]["couplings"] for m in httpx.get(f"{server}/api/mappings", timeout=30).json()}
    for mapping in ("SALESPEOPLE", "CURRENCY"):
        if not couplings.get(mapping):
            _task(server, "match", {"mapping": mapping, "create_missing": mapping == "CURRENCY"})
    status = httpx.get(f"{server}/api/mappings/CUSTOMER/records/{CUSTOMER}", timeout=30).json()
    if status.get("coupling") is None:
        created = httpx.post(f"{server}/api/mappings/CUSTOMER/create", json={"ref": CUSTOMER}, timeout=30)
        assert created.status_code == 200 and created.json()["job"]["counters"]["coupled"] == 1, created.text
    back = {"refs": [CUSTOMER], "direction": "from-integration"}
    assert httpx.post(f"{server}/api/mappings/CUSTOMER/sync", json=back, timeout=30).status_code == 200
    for _ in range(3):
        assert _task(server, "sync-modified", {})["state"] == "done"
    return CUSTOMER


def test_the_switch_pauses_synchronization_and_resumes_it(
    page: Page, server: str, screenshots: Path, coupled: str
) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connection").click()
    expect(page.get_by_role("heading", name="Connection: Business Central ⇄ Dynamics 365 Sales")).to_be_visible()
    systems = page.get_by_role("region", name="Systems")
    expect(systems.get_by_role("listitem").filter(has_text="Business Central")).to_contain_text("Answers")
    expect(systems.get_by_role("listitem").filter(has_text="Dynamics 365 Sales")).to_contain_text("Answers")
    customer = page.locator("#mapping-CUSTOMER")
    bar = customer.get_by_role("list", name="Recent runs of CUSTOMER, oldest first")
    expect(bar.get_by_role("link")).not_to_have_count(0)
    last = bar.get_by_role("link").last
    expect(last).to_have_attribute("title", re.compile(r"^\w{3} \d{1,2} \w{3} \d\d:\d\d UTC: .+"))
    expect(customer.locator("td.next-run")).to_have_text("Not scheduled")  # the demo has no job queue
    switch = page.get_by_role("switch", name="Enabled")
    expect(switch).to_be_checked()
    try:
        switch.click()
        expect(page.get_by_role("switch", name="Enabled")).not_to_be_checked()
        banner = page.locator("#paused-banner")
        expect(banner).to_contain_text("Synchronization is paused.")
        expect(customer.locator("td.next-run")).to_have_text("Paused")
        shot(page, screenshots, "connection-paused")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Table mappings").click()
        expect(page.locator("#paused-banner")).to_contain_text("is disabled")
        refused = httpx.post(f"{server}/api/mappings/CUSTOMER/sync", json={"refs": [coupled]}, timeout=30)
        assert refused.status_code in (409, 422) and "is disabled" in refused.json()["detail"], refused.text
        page.locator("#paused-banner").get_by_role("link", name="Enable it on the Connection page").click()
        page.get_by_role("switch", name="Enabled").click()
        expect(page.get_by_role("switch", name="Enabled")).to_be_checked()
        expect(page.locator("#paused-banner")).to_have_count(0)
        expect(page.get_by_role("status").first).to_contain_text("synchronization runs again")
    finally:  # the other tests need the connection on
        httpx.put(f"{server}/api/connection/enabled", json={"enabled": True}, timeout=30)
    page.goto("/connection")
    expect(page.get_by_role("switch", name="Enabled")).to_be_checked()
    shot(page, screenshots, "connection")
    last.click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+$"))


def test_the_card_has_the_dynamics_365_sales_panel(page: Page, screenshots: Path, coupled: str) -> None:
    page.goto(f"/mappings/CUSTOMER/records/{coupled}")
    panel = page.get_by_role("complementary", name="Dynamics 365 Sales")
    expect(panel).to_be_visible()
    expect(panel.locator("#factbox-status")).to_have_text("Coupled")
    expect(panel).to_contain_text(f"Coupled Account {NAME}")
    expect(panel).to_contain_text("Last synchronization to Dynamics 365 Sales")
    expect(panel).to_contain_text("Last synchronization from Dynamics 365 Sales")
    expect(panel.get_by_text("success")).to_have_count(2)
    coupling = page.get_by_role("region", name="Coupling").bounding_box()
    fields = page.get_by_role("region", name="Fields").bounding_box()
    aside = panel.bounding_box()
    assert coupling and fields and aside
    assert aside["x"] >= coupling["x"] + coupling["width"], "beside the card's coupling on a laptop"
    assert fields["y"] >= aside["y"] + aside["height"] and fields["width"] > 1100, "the fields below, full width"
    shot(page, screenshots, "card")


def test_on_a_phone_the_panel_stacks_under_the_card(page: Page, screenshots: Path, coupled: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/mappings/CUSTOMER/records/{coupled}")
    panel = page.get_by_role("complementary", name="Dynamics 365 Sales")
    expect(panel).to_be_visible()
    content, aside = page.locator(".card-content").bounding_box(), panel.bounding_box()
    assert content and aside and aside["y"] >= content["y"] + content["height"], "under the card's content"
    assert aside["x"] >= 0 and aside["x"] + aside["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    shot(page, screenshots, "card-phone")

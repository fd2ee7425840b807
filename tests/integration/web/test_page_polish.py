"""What the pages show: each field of the coupled record once, the review's advice by name (and the confirmation
before a full synchronization that would duplicate records), a progress notice's wording."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}


def test_the_card_shows_each_integration_field_once(client: TestClient, fabrikam: str) -> None:
    page = client.get(f"/mappings/CUSTOMER/records/{fabrikam}", headers=HTML).text
    record = page.split('id="integration-record"')[1].split("</section>")[0]

    names = re.findall(r"<dt>([^<]+)</dt>", record)
    assert names.count("Modified") == 1 and "modifiedon" not in names, names
    assert len(names) == len(set(names)), names
    assert {"Name", "City", "Post Code", "Credit Limit (LCY)"} <= set(names), "captions, not API field names"
    stamp = record.split("<dt>Modified</dt>")[1].split("</dd>")[0]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, (just now|\d+ \w+ ago)", stamp), stamp
    assert "all in step" in page and "0 differ" not in page


def test_the_review_advice_is_named_on_the_mapping_pages(client: TestClient) -> None:
    overview = client.get("/", headers=HTML).text
    row = overview.split('href="/mappings/CUSTOMER"')[1].split("</tr>")[0]
    assert "Match-based coupling</a>" in row, "CUSTOMER: both systems hold records and none is coupled"

    mapping = client.get("/mappings/CUSTOMER", headers=HTML).text
    assert "Recommendation: <strong>match-based coupling first</strong> — both systems hold records" in mapping


def test_a_full_synchronization_that_would_duplicate_asks_first(client: TestClient, csrf: str) -> None:
    response = client.post("/mappings/CUSTOMER/full", data={"csrf_token": csrf}, headers=HTML)

    assert response.status_code == 409
    assert "would duplicate the records both systems share" in response.text
    assert "Run match-based coupling first" in response.text and "Create every uncoupled record anyway" in response.text

"""The JSON API's mappings, records list, record status and record actions (couple, create, decouple, sync),
with bad input: every answer is JSON with a clear message, never a 500."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


def test_mappings_list_with_counts_and_one_mapping_with_its_fields(api: TestClient, fabrikam: str) -> None:
    mappings = api.get("/api/mappings").json()
    assert [m["name"] for m in mappings] == ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
    customer = next(m for m in mappings if m["name"] == "CUSTOMER")
    assert customer["counts"]["couplings"] == 1
    assert customer["direction"] == "bidirectional"
    assert customer["local"]["filter"] == [{"field": "blocked", "op": "eq", "value": ""}]
    detail = api.get("/api/mappings/customer").json()
    assert detail["name"] == "CUSTOMER"
    assert {"local": "city", "integration": "address1_city"}.items() <= next(
        f for f in detail["fields"] if f["local"] == "city"
    ).items()


def test_review_advises_per_mapping(api: TestClient) -> None:
    advice = api.get("/api/review").json()
    assert {a["mapping"] for a in advice} >= {"CUSTOMER", "CONTACT"}
    one = api.get("/api/mappings/CUSTOMER/review").json()
    assert one["advice"] == "match-based coupling" and one["couplings"] == 0


def test_records_pages_with_keysets_until_the_last(api: TestClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 10} | ({"after": after} if after else {})
        page = api.get("/api/mappings/CUSTOMER/records", params=params).json()
        seen += [row["key"] for row in page["rows"]]
        after = page["next_after"]
        if after is None:
            break
    assert page["total"] == len(seen) == len(set(seen)) == 34
    assert seen == sorted(seen)


def test_records_filters_and_search(api: TestClient, fabrikam: str) -> None:
    coupled = api.get("/api/mappings/CUSTOMER/records", params={"filter": "coupled"}).json()
    assert [(r["display"], r["coupled"], r["result"]) for r in coupled["rows"]] == [("C00070", True, "success")]
    assert coupled["rows"][0]["integration_key"] and coupled["rows"][0]["last_synced_at"]
    assert coupled["total"] == 1
    uncoupled = api.get("/api/mappings/CUSTOMER/records", params={"filter": "uncoupled", "limit": 500}).json()
    assert len(uncoupled["rows"]) == uncoupled["total"] == 33
    assert "C00070" not in {r["display"] for r in uncoupled["rows"]}
    found = api.get("/api/mappings/CUSTOMER/records", params={"search": "fabrikam"}).json()
    assert {r["name"] for r in found["rows"]} == {"Fabrikam, Inc.", "Fabrikam Residences"}
    by_number = api.get("/api/mappings/CUSTOMER/records", params={"search": "c0007"}).json()
    assert [r["display"] for r in by_number["rows"]] == ["C00070"]
    for state in ("failed", "skipped", "conflict"):
        assert api.get("/api/mappings/CUSTOMER/records", params={"filter": state}).json()["rows"] == []


@pytest.mark.parametrize("text", ["fabrikam", "FABRIKAM", "fAbRiKaM r", "  Fabrikam Res  "])
def test_records_search_ignores_letter_case_and_matches_a_prefix(api: TestClient, text: str) -> None:
    found = api.get("/api/mappings/CUSTOMER/records", params={"search": text}).json()
    expected = {"Fabrikam, Inc.", "Fabrikam Residences"} if len(text.strip()) == 8 else {"Fabrikam Residences"}
    assert {r["name"] for r in found["rows"]} == expected
    assert found["search"] == text.strip() and found["total"] == len(expected)
    assert api.get("/api/mappings/CUSTOMER/records", params={"search": "abrikam"}).json()["rows"] == []


def test_record_status_shows_both_records(api: TestClient, fabrikam: str) -> None:
    status = api.get("/api/mappings/CUSTOMER/records/C00070").json()
    assert status["coupling"]["integration_key"] == status["integration"]["key"]
    assert status["local"]["values"]["number"] == "C00070"
    assert status["integration"]["values"]["name"] == "Fabrikam, Inc."


def test_couple_then_decouple(api: TestClient, fabrikam: str) -> None:
    report = api.post(
        "/api/mappings/CUSTOMER/couple", json={"local": "C00020", "integration": "Proseware, Inc."}
    ).json()
    assert report["ok"] and report["summary"] == "1 coupled" and report["job"]["kind"] == "couple"
    again = api.post("/api/mappings/CUSTOMER/couple", json={"local": "C00020", "integration": "Proseware, Inc."})
    assert again.status_code == 409 and "already coupled" in again.json()["detail"]
    report = api.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00020"]}).json()
    assert report["job"]["counters"]["uncoupled"] == 1
    assert api.get("/api/mappings/CUSTOMER/records/C00020").json()["coupling"] is None


def test_create_and_couple(api: TestClient, fabrikam: str) -> None:
    report = api.post("/api/mappings/CUSTOMER/create", json={"ref": "C00180", "source": "local"}).json()
    assert report["ok"], report
    assert report["job"]["counters"]["inserted"] == 1 and report["job"]["counters"]["coupled"] == 1
    status = api.get("/api/mappings/CUSTOMER/records/C00180").json()
    assert status["integration"]["values"]["name"] == "Humongous Insurance"


def test_synchronize_now_in_a_direction(api: TestClient, fabrikam: str) -> None:
    report = api.post("/api/mappings/CUSTOMER/sync", json={"refs": [fabrikam], "direction": "to-integration"}).json()
    assert report["job"]["direction"] == "to-integration" and report["job"]["kind"] == "manual"
    jobs = len(api.get("/api/jobs").json())
    refused = api.post("/api/mappings/CUSTOMER/sync", json={"refs": ["C00020"]})
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "Customer C00020 Trey Research is not coupled, so there is nothing to synchronize."
    )
    unknown = api.post("/api/mappings/CUSTOMER/sync", json={"refs": ["C99999"]})
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("Business Central has no Customer C99999")
    assert len(api.get("/api/jobs").json()) == jobs, "neither writes a job in the log"
    one_way = api.post("/api/mappings/CURRENCY/sync", json={"refs": ["GBP"], "direction": "from-integration"})
    assert one_way.status_code == 422 and "cannot synchronize from-integration" in one_way.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "words"),
    [
        ("get", "/api/mappings/NOPE", None, 404, "No table mapping is named 'NOPE'"),
        ("get", "/api/mappings/NOPE/records", None, 404, "The mappings are: SALESPEOPLE"),
        ("get", "/api/mappings/CUSTOMER/records/C99999", None, 404, "names no record"),
        ("get", "/api/mappings/CUSTOMER/records?filter=blue", None, 422, "filter"),
        ("get", "/api/mappings/CUSTOMER/records?limit=0", None, 422, "limit"),
        ("get", "/api/mappings/CUSTOMER/records?limit=abc", None, 422, "limit"),
        ("post", "/api/mappings/CUSTOMER/couple", {"local": "C00070"}, 422, "integration: Field required"),
        ("post", "/api/mappings/CUSTOMER/couple", {"local": 5, "integration": "x"}, 422, "local"),
        ("post", "/api/mappings/CUSTOMER/couple", {"local": "C99999", "integration": "x"}, 404, "C99999"),
        ("post", "/api/mappings/CUSTOMER/sync", {"refs": []}, 422, "refs"),
        ("post", "/api/mappings/CUSTOMER/sync", {"refs": ["C00070"], "direction": "up"}, 422, "direction"),
        ("post", "/api/mappings/CUSTOMER/sync", {"refs": "C00070"}, 422, "refs"),
        ("post", "/api/mappings/CUSTOMER/sync", {"refs": ["C00070"], "extra": 1}, 422, "extra"),
        ("post", "/api/mappings/CUSTOMER/create", {"ref": "C00070", "source": "left"}, 422, "source"),
        ("post", "/api/mappings/NOPE/decouple", {"refs": ["x"]}, 404, "NOPE"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    api: TestClient, method: str, url: str, body: object, status: int, words: str
) -> None:
    answer = api.request(method.upper(), url, json=body)
    assert answer.status_code == status, answer.text
    payload = answer.json()
    assert words in payload["detail"] and payload["problems"], payload
    assert "Traceback" not in answer.text


def test_malformed_json_is_a_422_naming_the_problem(api: TestClient) -> None:
    answer = api.post(
        "/api/mappings/CUSTOMER/sync", content=b'{"refs": [', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert "not valid JSON" in answer.json()["detail"]

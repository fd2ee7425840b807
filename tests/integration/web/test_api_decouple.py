"""Decouple all through the JSON API: a background task like a full synchronization, reported as one job."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from coupler.services.api import Coupler

TASK = "/api/tasks/decouple-all"


def _couplings(api: TestClient, mapping: str) -> int:
    counts: int = api.get(f"/api/mappings/{mapping}").json()["counts"]["couplings"]
    return counts


def test_decouple_all_runs_as_a_task_and_removes_every_coupling(
    api: TestClient, fabrikam: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    coupler.match("CUSTOMER")
    coupled, salespeople = _couplings(api, "CUSTOMER"), _couplings(api, "SALESPEOPLE")
    assert coupled > 5 and salespeople > 0
    before = api.get("/api/mappings/CUSTOMER/records", params={"limit": 500}).json()

    started = api.post(TASK, json={"mapping": "customer"})
    assert started.status_code == 202, started.text
    assert started.json()["label"] == "Decouple all records of CUSTOMER"
    done = wait_task(started.json()["id"])

    assert done["state"] == "done" and done["message"] == f"{coupled} decoupled", done
    assert (done["done"], done["total"]) == (coupled, coupled)
    job_ids = done["job_ids"]
    assert isinstance(job_ids, list) and len(job_ids) == 1
    job_id = job_ids[0]
    report = api.get(f"/api/jobs/{job_id}").json()
    assert report["job"]["kind"] == "decouple" and report["job"]["counters"]["uncoupled"] == coupled
    assert report["ok"] and report["summary"] == f"{coupled} decoupled"
    assert _couplings(api, "CUSTOMER") == 0
    assert _couplings(api, "SALESPEOPLE") == salespeople, "other mappings keep their couplings"
    after = api.get("/api/mappings/CUSTOMER/records", params={"limit": 500}).json()
    assert [r["values"] for r in after["rows"]] == [r["values"] for r in before["rows"]], "records untouched"
    assert not any(r["coupled"] for r in after["rows"])


def test_decouple_all_needs_a_known_mapping_and_a_valid_body(api: TestClient) -> None:
    unknown = api.post(TASK, json={"mapping": "NOPE"})
    assert unknown.status_code == 404 and "No table mapping is named 'NOPE'" in unknown.json()["detail"]
    for body in ({}, {"mapping": ""}, {"mapping": "CUSTOMER", "all": True}, {"mapping": ["CUSTOMER"]}):
        refused = api.post(TASK, json=body)
        assert refused.status_code == 422 and refused.json()["error"] == "validation", (body, refused.text)
    assert api.get("/api/tasks").json() == [], "nothing was started"


def test_a_browser_needs_the_csrf_token_to_decouple_all(client: TestClient, csrf: str, fabrikam: str) -> None:
    refused = client.post(TASK, json={"mapping": "CUSTOMER"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    allowed = client.post(TASK, json={"mapping": "CUSTOMER"}, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 202

"""The JSON API's log (jobs, errors and their deletion), conflicts, skipped records, deletions and tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from starlette.testclient import TestClient

from coupler.domain.mapping import Side
from coupler.domain.timeutil import utcnow
from coupler.services.api import Coupler


def test_jobs_and_one_job_with_its_errors(api: TestClient, fabrikam: str) -> None:
    jobs = api.get("/api/jobs", params={"limit": 2}).json()
    assert len(jobs) == 2 and jobs[0]["kind"] == "couple" and jobs[0]["mapping"] == "CUSTOMER"
    assert jobs[0]["duration_seconds"] is not None and jobs[0]["counters"]["coupled"] == 1
    assert [j["mapping"] for j in api.get("/api/jobs", params={"mapping": "currency"}).json()] == ["CURRENCY"]
    one = api.get(f"/api/jobs/{jobs[0]['id']}").json()
    assert one["job"]["id"] == jobs[0]["id"] and one["ok"]
    missing = api.get("/api/jobs/nope")
    assert missing.status_code == 404 and "No job has the id 'nope'" in missing.json()["detail"]


def test_errors_are_listed_and_old_ones_deleted(api: TestClient, coupler: Coupler) -> None:
    report = coupler.couple("CUSTOMER", "C00070", "Fabrikam, Inc.", sync_after=Side.LOCAL)
    assert not report.ok  # its salesperson is not coupled
    errors = api.get("/api/errors", params={"mapping": "CUSTOMER"}).json()
    assert len(errors) == 1 and "SALESPEOPLE" in errors[0]["message"] and errors[0]["local_key"]
    assert api.delete("/api/errors", params={"older_than_days": 1}).json() == {"deleted": 0}
    coupler.systems.clock = lambda: utcnow() + timedelta(days=2)  # two days later
    assert api.delete("/api/errors", params={"older_than_days": 1, "mapping": "CUSTOMER"}).json() == {"deleted": 1}
    assert api.get("/api/errors").json() == []
    bad = api.delete("/api/errors", params={"older_than_days": -1})
    assert bad.status_code == 422 and "older_than_days" in bad.json()["detail"]
    assert api.delete("/api/errors").status_code == 422


def test_conflicts_listed_and_resolved_per_field(api: TestClient, conflict: str) -> None:
    (parked,) = api.get("/api/conflicts").json()
    (city,) = parked["fields"]
    assert (city["local_field"], city["local_value"], city["integration_value"]) == ("city", "Odense", "Aalborg")
    assert city["last_local"] == city["last_integration"] == "Manchester"
    listed = api.get("/api/mappings/CUSTOMER/records", params={"filter": "conflict"}).json()
    assert [(r["display"], r["in_conflict"]) for r in listed["rows"]] == [("C00070", True)]
    wrong = api.post(
        f"/api/mappings/CUSTOMER/conflicts/{conflict}/resolve", json={"use": "integration", "fields": ["x"]}
    )
    assert wrong.status_code in (404, 422) and "x" in wrong.json()["detail"]
    report = api.post(
        f"/api/mappings/CUSTOMER/conflicts/{conflict}/resolve", json={"use": "integration", "fields": ["city"]}
    ).json()
    assert report["job"]["kind"] == "resolve", report
    assert api.get("/api/conflicts").json() == []
    status = api.get(f"/api/mappings/CUSTOMER/records/{conflict}").json()
    assert status["local"]["values"]["city"] == "Aalborg"
    again = api.post(f"/api/mappings/CUSTOMER/conflicts/{conflict}/resolve", json={"use": "local"})
    assert again.status_code == 404 and "no parked conflict" in again.json()["detail"]


def test_skipped_retry_restore_and_deletions(api: TestClient, fabrikam: str) -> None:
    assert api.get("/api/skipped").json() == []
    assert api.get("/api/skipped", params={"mapping": "CUSTOMER"}).json() == []
    retried = api.post("/api/mappings/CUSTOMER/retry", json={"all": True})
    assert retried.status_code == 200 and retried.json()["job"]["mapping"] == "CUSTOMER"
    neither = api.post("/api/mappings/CUSTOMER/retry", json={})
    assert neither.status_code == 422 and "one of the two" in neither.json()["detail"]
    restore = api.post("/api/mappings/CUSTOMER/restore", json={"refs": [fabrikam]})
    assert restore.status_code in (200, 409, 422), restore.text
    assert api.get("/api/deletions").json() == []
    approve = api.post("/api/mappings/CUSTOMER/deletions/approve", json={"all": True})
    assert approve.status_code == 200 and approve.json()["job"]["mapping"] == "CUSTOMER"
    assert api.get("/api/skipped", params={"mapping": "NOPE"}).status_code == 404


def test_long_work_runs_as_tasks_with_progress(api: TestClient, wait_task: Callable[[str], dict[str, object]]) -> None:
    started = api.post("/api/tasks/match", json={"mapping": "SALESPEOPLE", "sync_after": "both"})
    assert started.status_code == 202 and started.json()["label"] == "Match-based coupling of SALESPEOPLE"
    done = wait_task(started.json()["id"])
    assert done["state"] == "done" and done["message"] == "6 coupled, 1 synchronized, 5 unchanged", done
    assert done["done"] and done["job_ids"] and done["finished_at"]
    job_id = done["job_ids"][0]  # type: ignore[index]
    assert api.get(f"/api/jobs/{job_id}").json()["job"]["kind"] == "match"

    refused = wait_task(api.post("/api/tasks/sync-full", json={"mapping": "CUSTOMER"}).json()["id"])
    assert refused["state"] == "failed" and "would duplicate" in str(refused["error"])
    modified = wait_task(api.post("/api/tasks/sync-modified", json={"mappings": ["SALESPEOPLE"]}).json()["id"])
    assert modified["state"] == "done" and len(modified["job_ids"]) == 1  # type: ignore[arg-type]
    selection = wait_task(api.post("/api/tasks/sync", json={"mapping": "SALESPEOPLE", "refs": ["OF"]}).json()["id"])
    assert selection["state"] == "done", selection
    assert [t["id"] for t in api.get("/api/tasks").json()][-1] == started.json()["id"]
    assert api.get("/api/tasks/unknown").status_code == 404
    assert api.post("/api/tasks/match", json={"mapping": "NOPE"}).status_code == 404
    assert api.post("/api/tasks/sync-full", json={"mapping": "CUSTOMER", "force": "maybe"}).status_code == 422

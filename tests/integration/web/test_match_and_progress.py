"""Match-based coupling on the records list's selection and through the API's ``refs``; background tasks showing a
percentage when the services know the total, an indeterminate bar otherwise."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from coupler.domain.mapping import Side
from coupler.entrypoints.web.deps import WebState
from coupler.entrypoints.web.tasks import Task, TaskProgress
from coupler.services.api import Coupler
from coupler.services.views.page_queries import PageQueries

HTML = {"accept": "text/html"}


def _coupled(coupler: Coupler) -> set[str]:
    couplings = coupler.systems.store.couplings.page("CUSTOMER", limit=1000)
    names = PageQueries(coupler.systems).names("CUSTOMER", Side.LOCAL, [c.local_key for c in couplings])
    return {name.split(" ")[0] for name in names.values()}  # "C00090 Northwind Traders": the number


def _state(client: TestClient) -> WebState:
    state: WebState = client.app.state.web  # type: ignore[attr-defined]
    return state


# the records list's Match-based coupling -----------------------------------------------------------------------
def test_the_list_action_matches_only_the_selection(
    client: TestClient, csrf: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    form = {"csrf_token": csrf, "ref": ["C00090", "C00010"]}

    started = client.post("/mappings/CUSTOMER/records/match", data=form, follow_redirects=False)

    assert started.status_code == 303 and started.headers["location"].startswith("/mappings/CUSTOMER/records?task=")
    task_id = started.headers["location"].split("task=")[1]
    done = wait_task(task_id)
    assert done["label"] == "Match-based coupling of 2 CUSTOMER records"
    assert done["state"] == "done" and done["message"] == "1 coupled, 1 unmatched", done
    assert _coupled(coupler) == {"C00090"}, "C00070 and the other shared customers were not selected"
    page = client.get(started.headers["location"], headers=HTML)
    assert "Match-based coupling of 2 CUSTOMER records" in page.text and "1 coupled, 1 unmatched" in page.text


def test_the_list_action_without_a_selection_says_what_to_do(client: TestClient, csrf: str, coupler: Coupler) -> None:
    response = client.post("/mappings/CUSTOMER/records/match", data={"csrf_token": csrf}, headers=HTML)

    assert response.status_code == 422 and 'role="alert"' in response.text
    assert "Select the records to match first" in response.text
    assert "from the CUSTOMER table mapping page" in response.text
    assert _coupled(coupler) == set()


def test_a_selected_record_that_no_longer_exists_fails_the_task_naming_it(
    client: TestClient, csrf: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    form = {"csrf_token": csrf, "ref": ["C00090", "gone-42"]}

    started = client.post("/mappings/CUSTOMER/records/match", data=form, follow_redirects=False)
    failed = wait_task(started.headers["location"].split("task=")[1])

    assert failed["state"] == "failed"
    error = str(failed["error"])
    assert error == "Business Central has no Customer gone-42.", error
    assert _coupled(coupler) == set(), "nothing is matched when a reference is wrong"


# the API ---------------------------------------------------------------------------------------------------------
def test_the_api_matches_the_refs_given(
    api: TestClient, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    started = api.post("/api/tasks/match", json={"mapping": "customer", "refs": ["C00090", "C00070"]})

    assert started.status_code == 202, started.text
    assert started.json()["label"] == "Match-based coupling of 2 CUSTOMER record(s)"
    done = wait_task(started.json()["id"])
    assert done["state"] == "done" and done["message"] == "2 coupled", done
    assert (done["total"], done["done"], done["percent"]) == (2, 2, 100), "the selection's size is the total"
    assert _coupled(coupler) == {"C00070", "C00090"}
    job = api.get(f"/api/jobs/{done['job_ids'][0]}").json()["job"]  # type: ignore[index]
    assert job["message"] == (
        "CUSTOMER: 2 matched and coupled, 0 unmatched of 2 selected uncoupled Business Central records."
    )


def test_the_api_refuses_an_empty_or_malformed_refs_list(api: TestClient) -> None:
    for refs in ([], [""], ["C\x0000"], "C00090"):
        response = api.post("/api/tasks/match", json={"mapping": "CUSTOMER", "refs": refs})
        assert response.status_code == 422, (refs, response.text)
        assert "refs" in response.text


def test_the_api_task_fails_naming_an_unknown_ref(api: TestClient, wait_task: Callable[[str], Any]) -> None:
    started = api.post("/api/tasks/match", json={"mapping": "CUSTOMER", "refs": ["nobody"]})

    failed = wait_task(started.json()["id"])

    assert failed["state"] == "failed" and failed["error"] == "Business Central has no Customer nobody."


# progress with a total ---------------------------------------------------------------------------------------
def test_a_task_reports_percent_per_stage_and_the_page_shows_it(client: TestClient, api: TestClient) -> None:
    runner = _state(client).tasks
    step, stepped = threading.Event(), threading.Event()

    def work(coupler: Coupler, progress: TaskProgress) -> Any:
        progress.start("CUSTOMER to-integration", 8)
        progress.advance(2)
        stepped.set()
        step.wait(10)
        step.clear()
        progress.start("CUSTOMER from-integration")
        progress.advance(5)
        stepped.set()
        step.wait(10)
        return coupler.decouple_all("CUSTOMER")

    task = runner.submit("Two stages", work)
    assert stepped.wait(10)
    stepped.clear()

    first = api.get(f"/api/tasks/{task.id}").json()
    assert (first["stage"], first["done"], first["total"], first["percent"]) == ("CUSTOMER to-integration", 2, 8, 25)
    page = client.get(f"/tasks/{task.id}", headers=HTML).text
    assert '<progress max="100" value="25"' in page and "25%" in page and "2 of 8 records" in page

    step.set()
    assert stepped.wait(10)
    second = api.get(f"/api/tasks/{task.id}").json()
    assert (second["done"], second["total"], second["percent"]) == (5, None, None), "a new stage counts afresh"
    fragment = client.get(f"/tasks/{task.id}", headers={**HTML, "hx-request": "true"}).text
    assert "<progress aria-label" in fragment and "%" not in fragment and "5 records so far" in fragment
    step.set()


def test_percent_is_capped_and_an_empty_total_is_complete() -> None:
    assert Task(id="t", label="x", done=3, total=2).percent == 100
    assert Task(id="t", label="x", done=0, total=0).percent == 100
    assert Task(id="t", label="x", done=1, total=3).percent == 33
    assert Task(id="t", label="x", done=1).percent is None


def test_a_finished_task_tells_the_page_to_refresh_the_counts_it_changed(
    client: TestClient, wait_task: Callable[[str], dict[str, object]]
) -> None:
    runner = _state(client).tasks
    release = threading.Event()

    def work(coupler: Coupler, progress: TaskProgress) -> Any:
        release.wait(10)
        return coupler.decouple_all("CUSTOMER")

    task = runner.submit("Decouple all", work)
    polled = {**HTML, "hx-request": "true"}
    running = client.get(f"/tasks/{task.id}", headers=polled)
    assert "HX-Trigger" not in running.headers
    release.set()
    wait_task(task.id)
    finished = client.get(f"/tasks/{task.id}", headers=polled)
    assert finished.headers["HX-Trigger"] == "task-finished"
    page = client.get("/mappings/CUSTOMER", headers=HTML).text
    assert 'id="coupling-counts"' in page and 'hx-trigger="task-finished from:body"' in page

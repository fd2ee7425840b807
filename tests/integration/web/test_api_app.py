"""The app factory, WebState and the access rules: loopback by default, a token beyond it, CSRF on forms,
same-origin unsafe requests, loopback host names only."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from coupler.domain.errors import UsageError
from coupler.entrypoints.web.app import create_app
from coupler.entrypoints.web.deps import WebState

from .conftest import BASE_URL

TOKEN = "s3cret-token-for-tests"


def test_the_app_opens_the_demo_and_reports_the_connection(client: TestClient) -> None:
    answer = client.get("/api/connection")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "problems": []}
    state = client.app.state.web  # type: ignore[attr-defined]
    assert isinstance(state, WebState)
    assert "CUSTOMER" in [m.name for m in state.coupler.mappings()]
    assert client.get("/openapi.json").json()["info"]["title"] == "coupler"


def test_the_app_starts_when_the_systems_cannot_be_reached(config: Path) -> None:
    config.write_text(config.read_text().replace("crm.db", "missing/crm.db"))
    with TestClient(create_app(config), base_url=BASE_URL) as client:
        body = client.get("/api/connection").json()
        assert body["ok"] is False and "crm.db" in " ".join(body["problems"])
        answer = client.get("/api/mappings")
        assert answer.status_code == 503 and "cannot reach its systems" in answer.json()["detail"]


def test_binding_beyond_loopback_needs_a_token(config: Path) -> None:
    with pytest.raises(UsageError, match="COUPLER_WEB_TOKEN"):
        create_app(config, host="0.0.0.0")
    with pytest.raises(UsageError, match="too short"):
        create_app(config, host="0.0.0.0", token="short")
    create_app(config, host="::1")  # loopback needs none


@pytest.fixture
def guarded(config: Path) -> TestClient:
    with TestClient(create_app(config, host="0.0.0.0", token=TOKEN), base_url="http://10.0.0.5") as client:
        yield client  # type: ignore[misc]


def test_api_clients_send_the_token_as_a_bearer(guarded: TestClient) -> None:
    missing = guarded.get("/api/mappings")
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["detail"]
    wrong = guarded.get("/api/mappings", headers={"Authorization": "Bearer nope-nope-nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in wrong.text
    right = guarded.get("/api/mappings", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    posted = guarded.post(
        "/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert posted.status_code == 200  # a bearer needs no CSRF token
    assert guarded.get("/openapi.json", follow_redirects=False).status_code == 303  # to /login


def test_the_browser_logs_in_once_with_the_token(guarded: TestClient) -> None:
    page = guarded.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    form = guarded.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.text
    csrf = guarded.cookies["coupler_csrf"]
    wrong = guarded.post("/login", data={"token": "wrong-token", "csrf_token": csrf, "next": "/"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    no_csrf = guarded.post("/login", data={"token": TOKEN, "next": "/"})
    assert no_csrf.status_code == 403
    logged = guarded.post(
        "/login", data={"token": TOKEN, "csrf_token": csrf, "next": "//evil.example"}, follow_redirects=False
    )
    assert logged.status_code == 303 and logged.headers["location"] == "/"
    assert "coupler_session" in guarded.cookies
    assert guarded.get("/api/connection").status_code == 200  # the session cookie is enough
    guarded.cookies.set("coupler_session", "forged.0000")
    assert guarded.get("/api/connection").status_code == 401


def test_forms_and_browser_api_calls_need_the_csrf_token(client: TestClient, csrf: str) -> None:
    token = csrf
    refused = client.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    as_form = client.post("/api/mappings/CUSTOMER/decouple", data={"refs": "C00070"})
    assert as_form.status_code == 403
    allowed = client.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"X-CSRF-Token": token})
    assert allowed.status_code == 200
    wrong = client.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403


def test_cross_site_requests_and_foreign_host_names_are_refused(api: TestClient) -> None:
    cross = api.post(
        "/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403 and "Cross-site" in cross.json()["detail"]
    same = api.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"Origin": BASE_URL})
    assert same.status_code == 200
    rebound = api.get("/api/mappings", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and "not served" in rebound.json()["detail"]
    assert api.get("/api/connection").headers["x-frame-options"] == "DENY"


def test_the_csrf_token_helper_is_what_the_cookie_holds(client: TestClient) -> None:
    from coupler.entrypoints.web.deps import csrf_token

    class Probe:
        class state:  # stands in for request.state
            csrf = "abc"

    assert csrf_token(Probe()) == "abc"  # type: ignore[arg-type]

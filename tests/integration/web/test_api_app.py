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
    # a bearer needs no CSRF token: past the guard, coupler itself answers (C00070 is not coupled)
    assert posted.status_code == 422 and "is not coupled" in posted.json()["detail"]
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
    assert allowed.status_code == 422 and "is not coupled" in allowed.json()["detail"]  # past the guard
    wrong = client.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403


def test_cross_site_requests_and_foreign_host_names_are_refused(api: TestClient) -> None:
    cross = api.post(
        "/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403 and "Cross-site" in cross.json()["detail"]
    same = api.post("/api/mappings/CUSTOMER/decouple", json={"refs": ["C00070"]}, headers={"Origin": BASE_URL})
    assert same.status_code == 422 and "is not coupled" in same.json()["detail"]  # past the guard
    rebound = api.get("/api/mappings", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and "not served" in rebound.json()["detail"]
    assert api.get("/api/connection").headers["x-frame-options"] == "DENY"


def test_the_csrf_token_helper_is_what_the_cookie_holds(client: TestClient) -> None:
    from coupler.entrypoints.web.deps import csrf_token

    class Probe:
        class state:  # stands in for request.state
            csrf = "abc"

    assert csrf_token(Probe()) == "abc"  # type: ignore[arg-type]


def _log_in(client: TestClient) -> str:
    client.get("/login")
    csrf = client.cookies["coupler_csrf"]
    client.post("/login", data={"token": TOKEN, "csrf_token": csrf, "next": "/"}, follow_redirects=False)
    return client.cookies["coupler_session"]


def test_logging_out_revokes_the_session_on_the_server(guarded: TestClient) -> None:
    session = _log_in(guarded)
    assert guarded.get("/api/connection").status_code == 200
    csrf = guarded.cookies["coupler_csrf"]
    assert guarded.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    guarded.cookies.set("coupler_session", session)  # a copy of the cookie kept from before the logout
    assert guarded.get("/api/connection").status_code == 401


def test_a_session_ends_when_its_lifetime_is_over(config: Path) -> None:
    from coupler.entrypoints.web import security

    now = [1000.0]
    app = create_app(config, host="0.0.0.0", token=TOKEN)
    guard: security.Guard = app.state.guard
    guard.clock = lambda: now[0]
    with TestClient(app, base_url="http://10.0.0.5") as client:
        _log_in(client)
        assert client.get("/api/connection").status_code == 200
        now[0] += security.SESSION_LIFETIME + 1
        assert client.get("/api/connection").status_code == 401


def test_failed_sign_ins_are_throttled_per_client(config: Path) -> None:
    from coupler.entrypoints.web import security

    now = [1000.0]
    app = create_app(config, host="0.0.0.0", token=TOKEN)
    guard: security.Guard = app.state.guard
    guard.throttle = security.Throttle(limit=5, window=60.0, clock=lambda: now[0])
    wrong = {"Authorization": "Bearer wrong-wrong-wrong"}
    right = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app, base_url="http://10.0.0.5") as client:
        assert [client.get("/api/mappings", headers=wrong).status_code for _ in range(5)] == [401] * 5
        refused = client.get("/api/mappings", headers=right)  # even the right token waits: no more guessing
        assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
        assert "Too many failed sign-ins" in refused.json()["detail"]
        assert client.get("/login").status_code == 429  # the login form is throttled too
        assert client.post("/login", data={"token": TOKEN, "next": "/"}).status_code == 429
        now[0] += 61
        assert client.get("/api/mappings", headers=right).status_code == 200


def test_the_throttle_forgets_old_failures_and_keeps_few_clients() -> None:
    from coupler.entrypoints.web.security import Throttle

    now = [0.0]
    throttle = Throttle(limit=2, window=10.0, max_clients=3, clock=lambda: now[0])
    throttle.failed("a")
    assert throttle.retry_after("a") is None
    throttle.failed("a")
    assert throttle.retry_after("a") == 10
    now[0] = 4.0
    assert throttle.retry_after("a") == 6 and throttle.retry_after("b") is None
    for client in ("b", "c", "d"):
        throttle.failed(client)
    assert throttle.retry_after("a") is None, "the oldest client is forgotten past max_clients"
    now[0] = 100.0
    assert all(throttle.retry_after(c) is None for c in "abcd")

"""The shared HTTP client: retries, Retry-After, the pacer, token refresh and readable errors (MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from coupler.adapters.connectors.http_client import BasicAuth, HttpClient, Pacer, error_message
from coupler.domain.errors import PermanentConnectorError, RetryableConnectorError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(handler: Callable[[httpx.Request], httpx.Response], clock: Clock, **kw: object) -> HttpClient:
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    return HttpClient(
        "https://org.example/api/",
        system="Sales",
        transport=httpx.MockTransport(handler),
        pacer=pacer,
        sleep=clock.sleep,
        **kw,  # type: ignore[arg-type]
    )


def test_429_waits_for_retry_after_then_succeeds() -> None:
    clock = Clock()
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"value": []})])
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return next(answers)

    assert client(handler, clock).get_json("accounts", what="reading accounts") == {"value": []}
    assert sent == [0.0, 7.0], "the second request went only after Retry-After"


def test_503_is_retried_with_capped_backoff_then_a_retryable_error_names_system_and_request() -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"code": "0x8005F103", "message": "Service unavailable."}})

    with pytest.raises(RetryableConnectorError) as caught:
        client(handler, clock, max_attempts=5, backoff=1.0, backoff_cap=3.0).get_json(
            "accounts", what="reading accounts"
        )

    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0]
    assert "Sales: reading accounts failed after 5 attempt(s): 503 Service unavailable. (0x8005F103)" in str(
        caught.value
    )


def test_a_dropped_get_is_retried_but_a_dropped_post_is_not_resent() -> None:
    clock = Clock()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1 or request.method == "POST":
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, json={"ok": True})

    http = client(handler, clock)
    assert http.get_json("x", what="reading") == {"ok": True}
    with pytest.raises(RetryableConnectorError, match="after 1 attempt"):
        http.request("POST", "x", what="creating", json={})
    assert calls == ["GET", "GET", "POST"]


def test_a_refused_token_is_renewed_once() -> None:
    clock = Clock()
    refreshes: list[bool] = []

    class Auth:
        def headers(self, *, refresh: bool = False) -> dict[str, str]:
            refreshes.append(refresh)
            return {"Authorization": "Bearer new" if refresh else "Bearer old"}

    def handler(request: httpx.Request) -> httpx.Response:
        ok = request.headers["Authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401, json={})

    assert client(handler, clock, auth=Auth()).get_json("x", what="reading") == {}
    assert refreshes == [False, True]


def test_a_client_error_becomes_a_permanent_error_with_the_service_message() -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": {"code": "0x80040203", "message": "Invalid property 'colour'.\nmore"}}
        )

    with pytest.raises(PermanentConnectorError, match=r"^Sales: reading failed: 400 Invalid property 'colour'\. \("):
        client(handler, clock).get_json("x", what="reading")


def test_error_message_reads_odata_bodies_and_plain_text() -> None:
    assert error_message(httpx.Response(400, json={"error": {"code": "", "message": "Bad"}})) == "Bad"
    assert error_message(httpx.Response(502, text="upstream down\nstack")) == "upstream down"
    assert error_message(httpx.Response(500)) == "Internal Server Error"


def test_the_pacer_keeps_under_the_window_limit() -> None:
    clock = Clock()
    pacer = Pacer(limit=3, window=10.0, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        pacer.acquire()
        pacer.release()
        clock.now += 1.0
    assert clock.sleeps == [7.0], "the fourth request waited until the first left the 10 s window"


def test_basic_auth_never_shows_the_password() -> None:
    auth = BasicAuth("ADMIN", "s3cret-key")
    assert "s3cret" not in repr(auth)
    assert auth.headers()["Authorization"].startswith("Basic ")

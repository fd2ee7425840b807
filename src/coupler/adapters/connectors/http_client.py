"""The HTTP client both service connectors share: one pooled httpx.Client, authentication, pacing and retries.

- Authentication: OAuth 2 client credentials through msal (tokens are cached by msal and refreshed when they
  expire; a 401 forces a new token once), or basic auth (Business Central on-premises with a web-service key).
- Pacing: a sliding window keeps under the service-protection limit (6000 requests per 5 minutes by default) and a
  cap on the requests in flight, shared by every thread sending through the client: the service's maximum (52 for
  Dataverse, 5 for Business Central), lowered to the degree of parallelism Dataverse recommends in each answer's
  ``x-ms-dop-hint`` header (learn.microsoft.com/power-apps/developer/data-platform/send-parallel-requests). A 429
  stops every sender until its ``Retry-After`` has passed.
- Parallel requests: ``parallel`` runs independent requests (the chunks of one batch of records) on the client's
  threads, at most the cap at once, and answers in the order given; called from one of those threads it runs
  inline, so nested work never waits on a thread it holds.
- Retries: 429, 5xx (but 501), timeouts and dropped connections are retried with capped exponential backoff; when the
  attempts run out, a RetryableConnectorError names the system and what failed. Requests that are not idempotent
  (POST) are retried only when the server cannot have acted on them (429, 503, or a connection never made).
- Errors: OData error bodies (``{"error": {"code", "message"}}``) become readable messages. Secrets (client secret,
  password, bearer tokens) never appear in a message.
"""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import httpx

from coupler.adapters.connectors import http_events
from coupler.domain.errors import ConnectorError, PermanentConnectorError, RetryableConnectorError

__all__ = [
    "Auth",
    "BasicAuth",
    "HttpClient",
    "MsalAuth",
    "NoAuth",
    "Pacer",
    "Refusal",
    "error_message",
]

T = TypeVar("T")
R = TypeVar("R")
DOP_HINT = "x-ms-dop-hint"
"""Dataverse's recommended degree of parallelism for the environment, in every answer's headers."""

Refusal = Callable[[str, str, int, str], None]
"""Told of a refused request: method, path relative to the base URL, status, the service's error message."""

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SAFE_STATUSES = frozenset({429, 503})  # the server did not act on the request: safe to resend a POST


class Auth(Protocol):
    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        """The headers that authenticate a request (``refresh``: the last token was refused, get a new one)."""
        ...


class NoAuth:
    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        return {}


class BasicAuth:
    """Basic authentication (Business Central on-premises: a user name and its web-service access key)."""

    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = {"Authorization": f"Basic {token}"}
        self.username = username

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        return dict(self._header)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=***)"


class MsalAuth:
    """OAuth 2 client credentials through Microsoft Entra ID (or any authority msal accepts, like the test stub).

    msal keeps the token in its in-memory cache and returns it until it is about to expire; ``refresh`` bypasses
    the cache after the service refused a token.
    """

    def __init__(
        self,
        *,
        system: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        authority: str = "https://login.microsoftonline.com",
        verify: bool | str = True,
    ) -> None:
        self._system = system
        self._authority = f"{authority.rstrip('/')}/{tenant_id}"
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._verify = verify
        self._app: Any = None
        self._session: Any = None
        self._lock = threading.Lock()

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token(refresh)}"}

    def close(self) -> None:
        """Close the sign-in service's connections."""
        if self._session is not None:
            self._session.close()

    def _token(self, refresh: bool) -> str:
        import msal  # type: ignore[import-untyped]  # on first use: msal pulls in requests and cryptography

        with self._lock:
            try:
                if self._app is None:
                    self._session = _session(self._verify)
                    known = self._authority.startswith("https://login.microsoftonline.com/")
                    self._app = msal.ConfidentialClientApplication(
                        self._client_id,
                        client_credential=self._secret,
                        authority=self._authority,
                        http_client=self._session,
                        instance_discovery=None if known else False,
                    )
                result = self._app.acquire_token_for_client(scopes=[self._scope], force_refresh=refresh)
            except ValueError as error:
                raise ConnectorError(f"{self._system}: cannot sign in at {self._authority}: {error}") from None
            except Exception as error:  # msal's HTTP layer (requests) failing: the authority does not answer
                reason = _first_line(str(error)).replace(self._secret, "***") if self._secret else str(error)
                raise RetryableConnectorError(
                    f"{self._system}: the sign-in service {self._authority} does not answer: {reason}"
                ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            detail = result.get("error_description") or result.get("error") if isinstance(result, dict) else None
            reason = _first_line(str(detail or "no token returned"))
            raise PermanentConnectorError(
                f"{self._system}: sign-in as client {self._client_id} at {self._authority} failed: {reason}"
            )
        return str(result["access_token"])


def _session(verify: bool | str) -> Any:
    """The requests session msal signs in through. ``verify`` is forced on every request: requests would otherwise
    let ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override a session's own CA file."""
    import requests

    class Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["verify"] = verify
            return super().request(*args, **kwargs)

    return Session()


class Pacer:
    """At most ``limit`` requests per ``window`` seconds and ``concurrency`` in flight (lowered by ``recommend``);
    ``pause`` stops every sender until a moment (a 429's Retry-After). One pacer is shared by every thread that
    sends through its client."""

    def __init__(
        self,
        *,
        limit: int = 6000,
        window: float = 300.0,
        concurrency: int = 52,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window = limit, window
        self.max_concurrency = max(1, concurrency)
        self._capacity = self.max_concurrency
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._slots = threading.Condition(threading.Lock())
        self._in_flight = 0

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight at once now."""
        return self._capacity

    def recommend(self, degree: int) -> None:
        """The service recommends ``degree`` requests in flight (``x-ms-dop-hint``): the cap becomes the smaller of
        it and the service's maximum."""
        with self._slots:
            self._capacity = max(1, min(self.max_concurrency, degree))
            self._slots.notify_all()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self) -> None:
        """Wait for a slot in flight and in the window; call ``release`` when the response is in."""
        with self._slots:
            while self._in_flight >= self._capacity:
                self._slots.wait()
            self._in_flight += 1
        try:
            while (wait := self._reserve()) > 0:
                self._sleep(wait)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        with self._slots:
            self._in_flight -= 1
            self._slots.notify()

    def _reserve(self) -> float:
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.limit:
                return self._sent[0] + self.window - now
            self._sent.append(now)
            return 0.0


class HttpClient:
    """One pooled connection to a service at ``base_url``. ``system`` names it in every error message."""

    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        auth: Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        timeout: float = 120.0,
        pacer: Pacer | None = None,
        max_attempts: int = 6,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/") + "/"
        self._auth = auth or NoAuth()
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            transport=transport,
            verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify,  # a CA file
            timeout=timeout,
        )
        self._pacer = pacer or Pacer(sleep=sleep)
        self._attempts = max(1, max_attempts)
        self._backoff, self._backoff_cap, self._max_retry_after = backoff, backoff_cap, max_retry_after
        self._sleep = sleep
        self.requests_sent = 0
        self._watchers: list[Refusal] = []
        self._count_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._inside = threading.local()

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight at once now (the service's maximum, or its recommendation)."""
        return self._pacer.concurrency

    def parallel(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``work`` on each item, on up to ``concurrency`` threads at once, the answers in the order of ``items``.
        Every item is done before this returns or raises (the first failure, in that order): nothing is left
        running. Called from one of the client's threads, or with one item, it runs inline."""
        if len(items) <= 1 or self._pacer.max_concurrency == 1 or getattr(self._inside, "worker", False):
            return [work(item) for item in items]
        pool = self._threads()

        def run(item: T) -> R:
            self._inside.worker = True
            try:
                return work(item)
            finally:
                self._inside.worker = False

        futures: list[Future[R]] = [pool.submit(run, item) for item in items]
        failure: BaseException | None = None
        answers: list[R] = []
        for future in futures:
            try:
                answers.append(future.result())
            except BaseException as error:  # wait for the others before raising: none is left half done
                failure = failure or error
        if failure is not None:
            raise failure
        return answers

    def _threads(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._pacer.max_concurrency, thread_name_prefix=f"coupler-{self.system}"
                )
            return self._pool

    def watch_refusals(self, watcher: Refusal) -> None:
        """Have ``watcher`` told of every refused request answered (not retried away): its method, path (relative to
        ``base_url``, no query), status and error message. A connector learns from it that what it knows of the
        service's schema is stale."""
        self._watchers.append(watcher)

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        watch: bool = True,
    ) -> httpx.Response:
        """Send a request, retrying what passes; the response of any other status is returned to the caller.

        ``what`` says what the request does, for messages ("reading accounts"). Raises RetryableConnectorError when
        the service stays throttled or unavailable, or does not answer. A refusal is told to the watchers (see
        ``watch_refusals``) unless not ``watch`` (a question about the schema itself).
        """
        idempotent = method.upper() != "POST" if idempotent is None else idempotent
        refreshed = False
        problem, delay, attempt = "no attempt made", 0.0, 0
        for attempt in range(1, self._attempts + 1):
            if delay:
                self._sleep(delay)
            delay = min(self._backoff_cap, self._backoff * 2 ** (attempt - 1))
            try:
                response = self._send(method, url, params, json, content, headers, refresh=refreshed)
            except httpx.TransportError as error:
                problem = _transport_problem(error)
                if not idempotent and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                    break  # the service may have acted on it: resending could write twice
                continue
            status = response.status_code
            if status == 401 and not refreshed:
                refreshed, delay = True, 0.0  # the token expired early or was revoked: one new token, one more try
                continue
            if status not in _RETRY_STATUSES or (not idempotent and status not in _SAFE_STATUSES):
                if watch and self._watchers and not response.is_success:
                    self._tell(method, response)
                return response
            problem = f"{status} {error_message(response)}"
            if status == 429:  # every sender waits, not only this one; the pacer does the waiting
                wait = self._retry_after(response, attempt)
                http_events.throttled(self.system, wait)
                self._pacer.pause(wait)
                delay = 0.0
        raise RetryableConnectorError(f"{self.system}: {what} failed after {attempt} attempt(s): {problem}")

    def check(self, response: httpx.Response, *, what: str) -> httpx.Response:
        """The response when it succeeded; a PermanentConnectorError naming the system, what failed and why."""
        if response.is_success:
            return response
        raise PermanentConnectorError(f"{self.system}: {what} failed: {response.status_code} {error_message(response)}")

    def get_json(self, url: str, *, what: str, params: Mapping[str, str] | None = None, **kw: Any) -> Any:
        return _json(self.check(self.request("GET", url, what=what, params=params, **kw), what=what), self.system)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._client.close()
        close_auth = getattr(self._auth, "close", None)
        if close_auth is not None:
            close_auth()

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        *,
        refresh: bool,
    ) -> httpx.Response:
        merged = {**self._auth.headers(refresh=refresh), **(headers or {})}
        self._pacer.acquire()
        started, status = time.monotonic(), None
        try:
            with self._count_lock:
                self.requests_sent += 1
            response = self._client.request(method, url, params=params, json=json, content=content, headers=merged)
            status = response.status_code
            hint = response.headers.get(DOP_HINT)
            if hint is not None and hint.strip().isdigit():
                self._pacer.recommend(int(hint))
            return response
        finally:
            self._pacer.release()
            path = url.split("?", 1)[0].rsplit("@", 1)[-1]  # never the query (it may carry data) nor credentials
            http_events.request_done(self.system, method.upper(), path, status, time.monotonic() - started)

    def _tell(self, method: str, response: httpx.Response) -> None:
        path = response.request.url.path
        base = httpx.URL(self.base_url).path
        relative = path[len(base) :] if path.startswith(base) else path.lstrip("/")
        message = error_message(response)
        for watcher in self._watchers:
            watcher(method.upper(), relative, response.status_code, message)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        raw = response.headers.get("Retry-After", "")
        try:
            seconds = float(raw)
        except ValueError:
            seconds = min(self._backoff_cap, self._backoff * 2 ** (attempt - 1))  # none promised (Business Central)
        return max(0.0, min(seconds, self._max_retry_after))


def error_message(response: httpx.Response) -> str:
    """A readable message from an error response: the OData error's message and code, or the body's first line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = _first_line(str(error.get("message") or "")) or response.reason_phrase
        code = error.get("code")
        return f"{message} ({code})" if code else message
    text = _first_line(response.text)[:300]
    return text or response.reason_phrase or "no details"


def _json(response: httpx.Response, system: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PermanentConnectorError(
            f"{system}: the answer to {response.request.method} {response.request.url.path} is not JSON"
        ) from None


def _transport_problem(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "the request timed out"
    return f"the connection failed ({type(error).__name__}: {_first_line(str(error)) or 'dropped'})"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""

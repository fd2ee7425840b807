"""Who may use the web app: loopback only by default; beyond loopback an access token (``COUPLER_WEB_TOKEN``) that
the browser presents once at /login (then a session cookie) and API clients send as ``Authorization: Bearer``.

Also: a Host check against DNS rebinding while bound to loopback, a same-origin check on every unsafe request, and
the CSRF cookie that forms and htmx send back (checked by ``deps.verify_csrf``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from coupler.domain.errors import UsageError

__all__ = [
    "CSRF_COOKIE",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "TOKEN_ENV",
    "Guard",
    "Throttle",
    "install_security",
    "is_loopback",
    "login_router",
]

TOKEN_ENV = "COUPLER_WEB_TOKEN"
SESSION_COOKIE = "coupler_session"
CSRF_COOKIE = "coupler_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = ("/login", "/logout", "/static/", "/hooks/")  # /hooks/: the systems' notifications (web/hooks.py)
_PROBES = frozenset({"/healthz", "/readyz"})  # health probes: no token, no throttling (see web/health.py)
_MACHINE_PATHS = ("/api", "/metrics")  # their clients are programs: a 401, never a redirect to /login
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_MIN_TOKEN_LENGTH = 8
SESSION_LIFETIME = 12 * 3600.0
"""Seconds a browser session stays valid after login (a logout ends it at once)."""
MAX_SESSIONS = 1000
"""Live sessions kept at most; past that the oldest is ended (memory stays bounded)."""

Next = Callable[[Request], Awaitable[Response]]


class Throttle:
    """Failed sign-ins per client: after ``limit`` failures within ``window`` seconds, the client is refused (429
    with Retry-After) until the oldest of them is older than the window, whatever it sends, so that guessing the
    token costs ``window / limit`` seconds a try. Clients tracked at most: ``max_clients`` (oldest forgotten)."""

    def __init__(
        self,
        *,
        limit: int = 5,
        window: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_clients, self.clock = limit, window, max_clients, clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(client, ()) if now - t < self.window]
        if kept:
            self._failures[client] = kept
        else:
            self._failures.pop(client, None)
        return kept

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None when it may try now."""
        with self._lock:
            now = self.clock()
            recent = self._recent(client, now)
            if len(recent) < self.limit:
                return None
            return max(1, int(recent[0] + self.window - now + 0.999))

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            self._failures[client] = [*self._recent(client, now), now]
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) stays on this machine."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(kw_only=True)
class Guard:
    """The access rules of one app: the bind address and the token (None: no login, loopback only)."""

    host: str = "127.0.0.1"
    token: str | None = None
    throttle: Throttle = field(default_factory=Throttle)
    clock: Callable[[], float] = time.monotonic
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _sessions: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)
    """Live sessions: nonce -> when it expires. Kept on the server, so that a logout revokes a copied cookie."""
    _sessions_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < _MIN_TOKEN_LENGTH:
            raise UsageError(f"{TOKEN_ENV} is too short: use at least {_MIN_TOKEN_LENGTH} characters.")
        if self.token is None and not is_loopback(self.host):
            raise UsageError(
                f"Binding to {self.host} makes coupler reachable from other machines: set {TOKEN_ENV} to an access "
                "token first (the browser asks for it once; API clients send it as 'Authorization: Bearer')."
            )

    @property
    def login_required(self) -> bool:
        return self.token is not None

    # tokens and sessions -----------------------------------------------------------------------------------
    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def new_session(self) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._sessions_lock:
            self._sessions[nonce] = self.clock() + SESSION_LIFETIME
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return f"{nonce}.{self._sign(nonce)}"

    def session_valid(self, value: str | None) -> bool:
        if not value or "." not in value or self.token is None:
            return False
        nonce, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign(nonce)):
            return False
        with self._sessions_lock:
            until = self._sessions.get(nonce)
            if until is not None and until <= self.clock():
                del self._sessions[nonce]
                until = None
        return until is not None

    def end_session(self, value: str | None) -> None:
        """Revoke the session (logout): the cookie is refused from now on, wherever a copy of it is."""
        if value and "." in value:
            with self._sessions_lock:
                self._sessions.pop(value.partition(".")[0], None)

    def _sign(self, nonce: str) -> str:
        secret = hashlib.sha256(self._key + (self.token or "").encode()).digest()
        return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()

    # the checks the middleware runs ------------------------------------------------------------------------
    def host_refused(self, request: Request) -> str | None:
        """While bound to loopback, only loopback host names are served (a rebound DNS name is refused)."""
        if not is_loopback(self.host):
            return None
        host = request.headers.get("host", "")
        name = urlsplit(f"//{host}").hostname or ""
        return None if is_loopback(name) else f"Host {host!r} is not served; open coupler at http://127.0.0.1."

    def cross_site(self, request: Request) -> bool:
        """An unsafe request from a page of another origin (browsers send Origin with every POST)."""
        if request.method in SAFE_METHODS:
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return False
        return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()

    def bearer(self, request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def authenticated(self, request: Request) -> bool | None:
        """True or False when credentials decide; None when none were presented."""
        given = self.bearer(request)
        if given is not None:
            return self.token_matches(given) if self.login_required else True
        if not self.login_required:
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie is None:
            return None
        return self.session_valid(cookie)


def _problem(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message, "error": kind, "problems": [message]}, status_code=status, headers=headers)


def install_security(app: FastAPI, guard: Guard) -> None:
    """The middleware that applies ``guard`` to every request, and the /login and /logout routes."""
    app.state.guard = guard

    @app.middleware("http")
    async def _secure(request: Request, call_next: Next) -> Response:
        refused = guard.host_refused(request)
        if refused:
            return _problem(400, refused, "host")
        if guard.cross_site(request):
            return _problem(403, "Cross-site request refused: use coupler's own pages.", "cross_site")
        if request.url.path in _PROBES:
            return await call_next(request)
        path = request.url.path
        client = _client(request)
        if guard.login_required and path != "/logout" and (wait := guard.throttle.retry_after(client)) is not None:
            message = f"Too many failed sign-ins from this address; try again in {wait} s."
            return _problem(429, message, "throttled", {"Retry-After": str(wait)})
        if not path.startswith(_OPEN_PATHS):
            verdict = guard.authenticated(request)
            if verdict is False:
                guard.throttle.failed(client)
                message = "The access token is wrong or the session has expired; log in again."
                return _problem(401, message, "unauthorized", {"WWW-Authenticate": "Bearer"})
            if verdict is None:
                if path.startswith(_MACHINE_PATHS) or request.method not in SAFE_METHODS:
                    message = f"Log in first: send 'Authorization: Bearer <{TOKEN_ENV}>'."
                    return _problem(401, message, "unauthorized", {"WWW-Authenticate": "Bearer"})
                return RedirectResponse(f"/login?next={_safe_next(path)}", status_code=303)
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = not csrf or len(csrf) < 20
        request.state.csrf = secrets.token_urlsafe(32) if fresh else csrf
        response = await call_next(request)
        if fresh and not path.startswith(("/api", "/hooks/")):  # pages hand it out; API clients never get a cookie
            _set_cookie(response, request, CSRF_COOKIE, request.state.csrf, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.include_router(login_router)


def _client(request: Request) -> str:
    """Who is asking, as far as throttling goes: the peer's address."""
    return request.client.host if request.client else "unknown"


def _set_cookie(response: Response, request: Request, name: str, value: str, *, samesite: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite=samesite,  # type: ignore[arg-type]
        secure=request.url.scheme == "https",
        path="/",
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never '//elsewhere' or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


login_router = APIRouter(include_in_schema=False)

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in - coupler</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="login"><h1>coupler</h1>{message}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form></main></body></html>"""


def _login_page(request: Request, next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    body = _LOGIN_PAGE.format(
        message=note, csrf=html.escape(request.state.csrf), next=html.escape(_safe_next(next_path))
    )
    return HTMLResponse(body, status_code=status)


@login_router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    guard: Guard = request.app.state.guard
    if not guard.login_required:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next)


@login_router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: str = Form(""),
    next: str = Form("/"),
    csrf_token: str = Form(""),
) -> Response:
    guard: Guard = request.app.state.guard
    if not guard.login_required:
        return RedirectResponse(_safe_next(next), status_code=303)
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, next, "The form had expired; please try again.", status=403)
    if not guard.token_matches(token):
        guard.throttle.failed(_client(request))
        return _login_page(request, next, "That access token is not right.", status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, guard.new_session(), samesite="lax")
    return response


@login_router.post("/logout")
def logout(request: Request) -> Response:
    guard: Guard = request.app.state.guard
    guard.end_session(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

"""Fault injection for the test servers, changeable while they run (thread-safe).

``Faults`` decides per HTTP request (a ``$batch`` is one request) whether it is throttled (429 with
``Retry-After``), refused (503), slowed down or dropped (the connection closes without an answer), and per
written record whether it fails validation (400). ``aim`` serves a fault to chosen requests only (the second
``$batch`` that creates records, say), including an answer dropped after the server acted. ``expire_delta_tokens``
makes every delta token issued so far expired, as when change tracking's retention has passed.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import Message, Receive, Scope, Send

__all__ = ["Faults", "fault_middleware", "read_all", "replay"]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class _Rejection:
    field: str
    value: Any
    entity_set: str | None
    message: str


@dataclass(kw_only=True)
class _Aimed:
    kind: str
    pattern: re.Pattern[str]
    skip: int
    count: int


AIMED_KINDS = ("drop", "drop-answer", "unavailable", "error")


@dataclass(frozen=True, kw_only=True)
class Decision:
    kind: str | None = None  # throttle | unavailable | drop | drop-answer | error
    retry_after: float | None = None
    delay: float = 0.0


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        """How many of each fault were served: throttle, unavailable, drop, slow, reject."""
        self.clear()

    def clear(self) -> None:
        """No faults from now on (the counters and expired tokens stay)."""
        with self._lock:
            self._throttle_count = 0
            self._throttle_every: int | None = None
            self._retry_after: float | None = 1.0
            self._unavailable = 0
            self._drop = 0
            self._slow = 0.0
            self._slow_count: int | None = 0
            self._seen = 0
            self._rejections: list[_Rejection] = []
            self._aimed: list[_Aimed] = []
            self._expire_tokens = False

    def throttle(self, count: int = 1, *, every: int | None = None, retry_after: float | None = 1.0) -> None:
        """Answer 429 to the next ``count`` requests, or (``every=K``) to every Kth request from now on.
        ``retry_after`` seconds go in the Retry-After header (None: no header, as Business Central may do)."""
        with self._lock:
            self._throttle_count = 0 if every else count
            self._throttle_every = every
            self._retry_after = retry_after
            self._seen = 0

    def unavailable(self, count: int = 1) -> None:
        """Answer 503 to the next ``count`` requests."""
        with self._lock:
            self._unavailable = count

    def slow(self, seconds: float, count: int | None = None) -> None:
        """Delay the next ``count`` requests (all while set, when None) by ``seconds``."""
        with self._lock:
            self._slow, self._slow_count = seconds, count

    def drop(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        with self._lock:
            self._drop = count

    def aim(self, kind: str, *, matching: str, skip: int = 0, count: int = 1) -> None:
        """Serve ``kind`` to the requests whose text (``METHOD path?query``, a line break, then the body) matches the
        regular expression ``matching``, once ``skip`` of them have been let through, ``count`` times:

        - ``drop``: the connection closes before the server acts;
        - ``drop-answer``: the server acts (and commits), then the connection closes without its answer;
        - ``unavailable``: 503, nothing done; ``error``: 500, nothing done.
        """
        if kind not in AIMED_KINDS:
            raise ValueError(f"kind must be one of {', '.join(AIMED_KINDS)}, not {kind!r}")
        with self._lock:
            self._aimed.append(_Aimed(kind=kind, pattern=re.compile(matching), skip=skip, count=count))

    @property
    def aiming(self) -> bool:
        """Whether a fault waits for a chosen request (then the server reads each request's text first)."""
        with self._lock:
            return any(a.count > 0 for a in self._aimed)

    def reject(self, field: str, value: Any, *, entity_set: str | None = None, message: str | None = None) -> None:
        """Make every write of a record whose ``field`` is set to ``value`` fail validation (400)."""
        text = message or f"A validation error occurred. The value {value!r} of '{field}' is not allowed."
        with self._lock:
            self._rejections.append(_Rejection(field=field, value=value, entity_set=entity_set, message=text))

    def expire_delta_tokens(self) -> None:
        """Every delta token issued so far is expired (the server notes its version at its next delta request,
        before it issues any new token)."""
        with self._lock:
            self._expire_tokens = True

    def take_token_expiry(self) -> bool:
        """Whether ``expire_delta_tokens`` was called since the last time this was asked."""
        with self._lock:
            expire, self._expire_tokens = self._expire_tokens, False
            return expire

    # -- used by the servers ---------------------------------------------------------------------------------
    def decide(self, text: str | None = None) -> Decision:
        """What to do with the next request; ``text`` is its text when a fault is aimed (see ``aim``)."""
        with self._lock:
            if text is not None:
                for aimed in self._aimed:
                    if aimed.count > 0 and aimed.pattern.search(text):
                        if aimed.skip > 0:
                            aimed.skip -= 1
                            continue
                        aimed.count -= 1
                        return self._count(Decision(kind=aimed.kind))
            self._seen += 1
            delay = 0.0
            if self._slow and (self._slow_count is None or self._slow_count > 0):
                delay = self._slow
                if self._slow_count is not None:
                    self._slow_count -= 1
                self.injected["slow"] += 1
            if self._drop > 0:
                self._drop -= 1
                return self._count(Decision(kind="drop", delay=delay))
            if self._throttle_count > 0 or (self._throttle_every and self._seen % self._throttle_every == 0):
                self._throttle_count = max(0, self._throttle_count - 1)
                return self._count(Decision(kind="throttle", retry_after=self._retry_after, delay=delay))
            if self._unavailable > 0:
                self._unavailable -= 1
                return self._count(Decision(kind="unavailable", delay=delay))
            return Decision(delay=delay)

    def _count(self, decision: Decision) -> Decision:
        assert decision.kind is not None
        self.injected[decision.kind] += 1
        return decision

    def rejection(self, entity_set: str, values: Mapping[str, Any]) -> str | None:
        with self._lock:
            for rule in self._rejections:
                if rule.entity_set in (None, entity_set) and rule.field in values and values[rule.field] == rule.value:
                    self.injected["reject"] += 1
                    return rule.message
        return None


_BODIES = {
    "dataverse": {
        "throttle": ("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
        "unavailable": ("0x80040216", "The service is temporarily unavailable. Try again later."),
        "error": ("0x80040265", "An unexpected error occurred."),
    },
    "business-central": {
        "throttle": ("Application_TooManyRequests", "Too many requests reached. Actual (6001). Maximum (6000)."),
        "unavailable": ("Application_ServiceUnavailable", "The service is temporarily unavailable."),
        "error": ("Internal_ServerError", "Something went wrong. Try again later."),
    },
}
_STATUSES = {"throttle": 429, "unavailable": 503, "error": 500}


def fault_middleware(app: ASGIApp, faults: Faults, *, flavour: str = "dataverse") -> ASGIApp:
    """Wrap ``app`` so that every HTTP request first asks ``faults`` what to do."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        text = None
        if faults.aiming:  # read the request to match it, then hand the app the same messages
            messages = await read_all(receive)
            content = b"".join(m.get("body", b"") for m in messages).decode("utf-8", "replace")
            query = scope.get("query_string", b"").decode("latin-1")
            text = f"{scope['method']} {scope['path']}{'?' + query if query else ''}\n{content}"
            receive = replay(messages)
        decision = faults.decide(text)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.kind is None:
            await app(scope, receive, send)
        elif decision.kind == "drop":
            await _drop(send)
        elif decision.kind == "drop-answer":
            await app(scope, receive, _swallow)
            await _drop(send)
        else:
            status = _STATUSES[decision.kind]
            code, message = _BODIES[flavour][decision.kind]
            headers = [(b"content-type", b"application/json")]
            if decision.retry_after is not None and status == 429:
                headers.append((b"retry-after", str(round(decision.retry_after, 3)).encode()))
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    return wrapped


async def read_all(receive: Receive) -> list[Message]:
    """Every message of a request's body, read before the app is called (so that it can be read again)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages


def replay(messages: list[Message]) -> Receive:
    """A ``receive`` that hands ``messages`` over again."""
    pending = iter(messages)

    async def receive() -> Message:
        return next(pending, {"type": "http.disconnect"})

    return receive


async def _swallow(message: Message) -> None:
    """The answer of a request whose connection is dropped once the server has acted: never sent."""


async def _drop(send: Send) -> None:
    """Close the connection without answering (uvicorn's h11 cycle holds the transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # not under uvicorn: a response cut short is the closest thing
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        raise ConnectionAbortedError("dropped by fault injection")
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.abort()

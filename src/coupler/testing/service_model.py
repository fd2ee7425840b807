"""The service time and the service-protection limits of Dataverse and Business Central, for the test servers.

Off unless a server is given a ``ServiceModel`` (``dataverse_app(..., model=ServiceModel.dataverse(...))``): then
every request takes the time the model says, ``per_request`` plus ``per_read_row`` for each record it reads and
``per_write_row`` for each record it writes (a ``$batch`` or a CreateMultiple counts each of its records), and is
refused as the real service refuses it:

- Dataverse (learn.microsoft.com/power-apps/developer/data-platform/api-limits, MicrosoftDocs/powerapps-docs
  ``powerapps-docs/developer/data-platform/api-limits.md``, "Service protection API limits"): per user, 6,000
  requests and 1,200 s of combined execution time in a sliding window of 300 s, and 52 concurrent requests. Beyond
  them a 429 with ``Retry-After`` and the error codes -2147015902 (requests), -2147015903 (execution time),
  -2147015898 (concurrent requests, refused at once). Every answer carries ``x-ms-dop-hint``, the degree of
  parallelism the service recommends (".../send-parallel-requests", "Optimum degree of parallelism").
- Business Central (MicrosoftDocs/dynamics365smb-devitpro-pb ``dev-itpro/administration/operational-limits-online.md``,
  "OData request limits"): 5 requests processed at once; more wait in a queue of at most 95 (100 connections);
  beyond it a 429; 6,000 requests per 5 minutes (``dev-itpro/api-reference/v2.0/dynamics-current-limits.md``), a
  429 beyond. Business Central promises no ``Retry-After`` (``retry_after`` None leaves it out).

``peak_in_flight``, ``served`` and ``refused`` say what the model saw; ``execution`` is the modelled service time
spent, in seconds. Rows are counted from the bodies: the records of a read's ``value`` (the ``@odata.etag`` of
each record, for a ``$batch`` of reads), the ``Targets`` of a CreateMultiple/UpdateMultiple, the operations of a
``$batch`` that write, one for a single write.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from coupler.testing.faults import read_all, replay

__all__ = ["ServiceModel"]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WRITE_LINE = re.compile(rb"^(?:POST|PATCH|PUT|DELETE) \S+ HTTP/1\.1\r?$", re.MULTILINE)
_READ_LINE = re.compile(rb"^GET \S+ HTTP/1\.1\r?$", re.MULTILINE)
_ETAG = b'"@odata.etag"'

# the service's own words (api-limits.md, "Service protection API limits"; operational-limits-online.md)
_DATAVERSE = {
    "requests": (
        "-2147015902",
        "Number of requests exceeded the limit of {limit} over time window of {window} seconds.",
    ),
    "execution": (
        "-2147015903",
        "Combined execution time of incoming requests exceeded limit of {budget} milliseconds over time window of "
        "{window} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again "
        "later.",
    ),
    "concurrency": ("-2147015898", "Number of concurrent requests exceeded the limit of {concurrency}."),
}
_BUSINESS_CENTRAL = {
    "requests": ("Application_TooManyRequests", "Too many requests reached. Actual ({actual}). Maximum ({limit})."),
    "concurrency": ("Application_TooManyRequests", "Too many requests reached. Maximum queue size ({queue})."),
}


@dataclass(kw_only=True)
class ServiceModel:
    flavour: str
    """``dataverse`` or ``business-central``: whose limits and words."""
    per_request: float = 0.0
    per_read_row: float = 0.0
    per_write_row: float = 0.0
    concurrency: int = 52
    """Requests processed at once."""
    queue: int = 0
    """Requests that wait for a slot beyond ``concurrency`` (Business Central: 95); 0: refused at once."""
    requests: int = 6000
    window: float = 300.0
    execution_budget: float | None = 1200.0
    """Seconds of combined execution time per ``window`` (Dataverse), None: no such limit."""
    dop_hint: int | None = None
    """The ``x-ms-dop-hint`` every answer carries (Dataverse), None: no header."""
    retry_after: float | None = 1.0
    """Seconds in the ``Retry-After`` of a refused concurrent request (the windows say their own); None: none."""
    peak_in_flight: int = 0
    served: int = 0
    execution: float = 0.0
    refused: Counter[str] = field(default_factory=Counter)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiting = 0
        self._starts: deque[float] = deque()
        self._spent: deque[tuple[float, float]] = deque()  # (end, seconds) of each request in the window
        self._spent_total = 0.0
        self._slots: asyncio.Semaphore | None = None

    @classmethod
    def dataverse(cls, **kw: Any) -> ServiceModel:
        """Dataverse's defaults: 52 at once (refused beyond), 6,000 requests and 1,200 s per 300 s."""
        return cls(**{"flavour": "dataverse", "concurrency": 52, "execution_budget": 1200.0, **kw})

    @classmethod
    def business_central(cls, **kw: Any) -> ServiceModel:
        """Business Central's defaults: 5 at once, 95 queued, 6,000 requests per 300 s, no Retry-After."""
        defaults = {"flavour": "business-central", "concurrency": 5, "queue": 95, "execution_budget": None}
        return cls(**{**defaults, "retry_after": None, **kw})

    def reset(self) -> None:
        """Forget the counters (not the windows: the service remembers)."""
        with self._lock:
            self.peak_in_flight, self.served, self.execution = self._in_flight, 0, 0.0
            self.refused.clear()

    def cost(self, *, read_rows: int, write_rows: int) -> float:
        return self.per_request + read_rows * self.per_read_row + write_rows * self.per_write_row

    # -- the middleware ----------------------------------------------------------------------------------------
    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind the model: admitted or refused, then answered after its modelled service time."""

        async def modelled(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            refusal = self._admit()
            if refusal is None and self.queue:
                await self._queue_for_slot()
            if refusal is not None:
                await self._refuse(send, *refusal)
                return
            try:
                await self._serve(app, scope, receive, send)
            finally:
                self._leave()

        return modelled

    def _admit(self) -> tuple[str, dict[str, Any], float | None] | None:
        """None when the request may go on (counted in flight unless it queues), else why it is refused."""
        with self._lock:
            now = self.clock()
            while self._starts and self._starts[0] <= now - self.window:
                self._starts.popleft()
            while self._spent and self._spent[0][0] <= now - self.window:
                self._spent_total -= self._spent.popleft()[1]
            if len(self._starts) >= self.requests:
                wait = self._starts[0] + self.window - now
                return "requests", {"actual": len(self._starts) + 1}, max(wait, 0.001)
            if self.execution_budget is not None and self._spent_total >= self.execution_budget:
                over, wait = self._spent_total - self.execution_budget, 0.0
                for end, seconds in self._spent:  # until enough of the window's execution time has expired
                    over -= seconds
                    wait = end + self.window - now
                    if over < 0:
                        break
                return "execution", {}, max(wait, 0.001)
            if not self.queue and self._in_flight >= self.concurrency:
                return "concurrency", {}, self.retry_after
            if self.queue and self._in_flight + self._waiting >= self.concurrency + self.queue:
                return "concurrency", {}, self.retry_after
            self._starts.append(now)
            if not self.queue:
                self._enter()
            else:
                self._waiting += 1
            return None

    async def _queue_for_slot(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        await self._slots.acquire()
        with self._lock:
            self._waiting -= 1
            self._enter()

    def _enter(self) -> None:
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self.served += 1
        if self._slots is not None:
            self._slots.release()

    async def _serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        started = self.clock()
        messages = await read_all(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await app(scope, replay(messages), keep)
        sent = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
        reads, writes = _rows(scope["method"], scope["path"], body, sent)
        seconds = self.cost(read_rows=reads, write_rows=writes)
        remaining = seconds - (self.clock() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        with self._lock:
            self.execution += seconds
            self._spent.append((self.clock(), seconds))
            self._spent_total += seconds
        for message in answer:
            if message["type"] == "http.response.start" and self.dop_hint is not None:
                headers = [*message.get("headers", []), (b"x-ms-dop-hint", str(self.dop_hint).encode())]
                message = {**message, "headers": headers}
            await send(message)

    async def _refuse(self, send: Send, limit: str, values: dict[str, Any], retry_after: float | None) -> None:
        with self._lock:
            self.refused[limit] += 1
        words = _DATAVERSE if self.flavour == "dataverse" else _BUSINESS_CENTRAL
        code, text = words.get(limit, words["requests"])
        budget = f"{int((self.execution_budget or 0) * 1000):,}"
        message = text.format(
            limit=self.requests,
            window=int(self.window),
            budget=budget,
            concurrency=self.concurrency,
            queue=self.queue,
            actual=values.get("actual", self.requests + 1),
        )
        headers = [(b"content-type", b"application/json")]
        if retry_after is not None:
            headers.append((b"retry-after", str(max(1, round(retry_after))).encode()))
        if self.dop_hint is not None:
            headers.append((b"x-ms-dop-hint", str(self.dop_hint).encode()))
        payload = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _rows(method: str, path: str, body: bytes, answer: bytes) -> tuple[int, int]:
    """(records read, records written) by one request, from its body and its answer's."""
    writes = 0
    reads_asked = method == "GET"
    if path.endswith("$batch"):
        if body.lstrip().startswith(b"{"):  # Business Central's JSON batch
            try:
                parts = json.loads(body).get("requests", [])
            except ValueError:
                parts = []
            writes = sum(1 for p in parts if str(p.get("method", "")).upper() != "GET")
            reads_asked = any(str(p.get("method", "")).upper() == "GET" for p in parts)
        else:  # Dataverse's multipart batch
            writes = len(_WRITE_LINE.findall(body))
            reads_asked = bool(_READ_LINE.search(body))
    elif method != "GET" and body.strip():
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        targets = payload.get("Targets") if isinstance(payload, dict) else None
        writes = len(targets) if isinstance(targets, list) else 1
    elif method == "DELETE":
        writes = 1
    reads = answer.count(_ETAG) if reads_asked else 0
    return reads, writes

"""How much a burst of requests can pile up in the server: the requests worked on at once (``WORKING``; the next
wait their turn, in order of arrival) and the requests held at once, working or waiting (``MAX_REQUESTS``; more are
answered 503 at once with ``Retry-After``). A request at work holds database connections with their page caches, a
thread and a page of records; a waiting one only its connection. So memory stays bounded whatever the burst.

A request keeps its turn from its first byte read to its last byte sent, so that its steps (dependencies, the
route, the response's validation: each a hop to the thread pool for a plain function) never queue again behind
the requests that came after it.
"""

from __future__ import annotations

import html
from typing import Any

import anyio
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_REQUESTS", "WORKING", "RequestLimit"]

WORKING = 4
"""Requests worked on at once: on a small machine more only share the same cores, and each holds database
connections, a thread and a page of records in memory."""
MAX_REQUESTS = 400
"""Requests held at once, at work or waiting their turn."""
UNLIMITED = frozenset({"/healthz"})
"""Served at once whatever the burst: the liveness probe answers while the process serves."""
BUSY = "coupler is busy with other requests: try again in a moment."


class RequestLimit:
    """ASGI middleware: ``working`` HTTP requests at work at once, the next waiting their turn; at most ``most``
    held in all, the next answered 503 with ``Retry-After`` (JSON under /api, as every API error; a short page
    elsewhere) without being read further."""

    def __init__(self, app: ASGIApp, *, working: int = WORKING, most: int = MAX_REQUESTS) -> None:
        if not 1 <= working <= most:
            raise ValueError(f"need 1 <= working <= most, not working={working}, most={most}")
        self.app = app
        self.working = working
        self.most = most
        self.held = 0  # changed only on the event loop's thread
        self._turns: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # a new run of the app (on its event loop): fresh turns
            self._turns = anyio.Semaphore(self.working, fast_acquire=True)
        if scope["type"] != "http" or scope.get("path") in UNLIMITED:
            await self.app(scope, receive, send)
            return
        if self.held >= self.most:
            await _busy(scope)(scope, receive, send)
            return
        if self._turns is None:  # served without a lifespan (an ASGI server that skips it)
            self._turns = anyio.Semaphore(self.working, fast_acquire=True)
        self.held += 1
        try:
            async with self._turns:
                await self.app(scope, receive, send)
        finally:
            self.held -= 1


def _busy(scope: Scope) -> Response:
    headers = {"Retry-After": "1"}
    path: Any = scope.get("path", "")
    if str(path).startswith("/api"):
        body = {"detail": BUSY, "error": "busy", "problems": [BUSY]}
        return JSONResponse(body, status_code=503, headers=headers)
    page = f"<!doctype html><title>coupler</title><p role='alert'>{html.escape(BUSY)}</p>"
    return HTMLResponse(page, status_code=503, headers=headers)

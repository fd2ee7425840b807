"""How much a burst of requests can pile up in the server: the requests worked on at once (the routes' thread pool,
``REQUEST_THREADS``) and the requests held at once, working or waiting (``MAX_REQUESTS``; more are answered 503 at
once with ``Retry-After``). Each request at work holds database connections with their page caches and a page of
records; each waiting one only its connection. So memory stays bounded whatever the burst."""

from __future__ import annotations

import html
from typing import Any

from anyio import to_thread
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MAX_REQUESTS", "REQUEST_THREADS", "RequestLimit", "bound_threads"]

REQUEST_THREADS = 4
"""Requests worked on at once: on a small machine more threads only share the same cores, and each holds database
connections and a page of records in memory."""
MAX_REQUESTS = 400
"""Requests held at once, at work or waiting their turn."""
BUSY = "coupler is busy with other requests: try again in a moment."


def bound_threads(threads: int) -> None:
    """At most ``threads`` routes run at once on this event loop (FastAPI runs plain routes on anyio's pool)."""
    to_thread.current_default_thread_limiter().total_tokens = threads


class RequestLimit:
    """ASGI middleware: at most ``most`` HTTP requests in the app at once; the next ones get 503 with ``Retry-After``
    (JSON under /api, as every API error; a short page elsewhere) without being read further."""

    def __init__(self, app: ASGIApp, *, most: int = MAX_REQUESTS) -> None:
        if most < 1:
            raise ValueError(f"most must be at least 1, not {most}")
        self.app = app
        self.most = most
        self.held = 0  # changed only on the event loop's thread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.held >= self.most:
            await _busy(scope)(scope, receive, send)
            return
        self.held += 1
        try:
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

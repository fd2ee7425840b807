"""One place that turns errors into responses: coupler's exceptions, bad input, and the unexpected (never a traceback).

/api answers JSON ``{"detail": message, "error": kind, "problems": [...]}``; the pages answer HTML through
``pages.render_error(request, status, message, problems)`` when the pages module defines it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from coupler.domain.errors import (
    AlreadyCoupled,
    ConfigurationError,
    ConnectorError,
    CouplerError,
    LockLost,
    MappingBusy,
    NotCoupled,
    RecordError,
    RecordNotFound,
    RunStopped,
    UnknownMapping,
    UsageError,
)

__all__ = ["ErrorBody", "install_error_handlers", "status_of"]

log = logging.getLogger(__name__)

HtmlRenderer = Callable[[Request, int, str, Sequence[str]], Response]

# most specific first
_STATUS: tuple[tuple[type[CouplerError], int], ...] = (
    (UnknownMapping, 404),
    (RecordNotFound, 404),
    (AlreadyCoupled, 409),
    (NotCoupled, 409),
    (MappingBusy, 409),
    (LockLost, 409),
    (RunStopped, 409),
    (UsageError, 422),
    (RecordError, 422),
    (ConfigurationError, 503),
    (ConnectorError, 503),
)


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of the API."""

    detail: str
    error: str
    problems: list[str] = []


def status_of(error: CouplerError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def _kind(error: Exception) -> str:
    name = type(error).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _describe(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"the body is not valid JSON ({reason})" if reason else "the body is not valid JSON"
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    return f"{where}: {error.get('msg', 'invalid')}"


def install_error_handlers(app: FastAPI, html_renderer: HtmlRenderer | None = None) -> None:
    def respond(request: Request, status: int, message: str, kind: str, problems: Sequence[str]) -> Response:
        wants_html = not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")
        if wants_html:
            if html_renderer is not None:
                return html_renderer(request, status, message, problems)
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems if p != message)
            page = f"<!doctype html><title>coupler</title><p role='alert'>{html.escape(message)}</p><ul>{items}</ul>"
            return HTMLResponse(page, status_code=status)
        body = ErrorBody(detail=message, error=kind, problems=list(problems) or [message])
        return JSONResponse(body.model_dump(), status_code=status)

    @app.exception_handler(CouplerError)
    async def _coupler_error(request: Request, error: CouplerError) -> Response:
        problems = error.problems if isinstance(error, ConfigurationError) else [error.message]
        return respond(request, status_of(error), error.message, _kind(error), problems)

    @app.exception_handler(RequestValidationError)
    async def _bad_input(request: Request, error: RequestValidationError) -> Response:
        problems = [_describe(e) for e in error.errors()]
        message = "The request is not valid: " + "; ".join(problems)
        return respond(request, 422, message, "validation", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = str(error.detail)
        response = respond(request, error.status_code, message, "http", [message])
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        message = f"Internal error ({type(error).__name__}); the server log has the details."
        return respond(request, 500, message, "internal", [message])

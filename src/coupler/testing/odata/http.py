"""The HTTP plumbing both test servers share: a plain request/response pair, OData errors and the ASGI adapter.

Each server is a function from ``Request`` to ``Response`` so that a ``$batch`` can run its parts through the same
code as single requests; ``asgi_app`` turns such a function into an ASGI application with Starlette.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send

__all__ = ["ODataError", "Request", "Response", "asgi_app", "json_response", "prefer"]


@dataclass(frozen=True, kw_only=True)
class Request:
    method: str
    path: str
    """The path below the server's service root, without a leading slash (``accounts(…)``)."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes = b""
    root: str = ""
    """The absolute service root URL, ending with a slash (for nextLinks, contexts and entity ids)."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self.body.strip():
            raise ODataError(400, "BadRequest", "The request body is empty; a JSON object was expected.")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ODataError(400, "BadRequest", f"The request body is not valid JSON: {exc}.") from None


@dataclass(kw_only=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class ODataError(Exception):
    """An error the server answers with ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def payload(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self) -> Response:
        return json_response(self.status, self.payload(), self.headers)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0", **(headers or {})},
    )


_PREFERENCE = re.compile(r'\s*([\w.-]+)\s*(?:=\s*("[^"]*"|[^,;]*))?')


def prefer(request: Request) -> dict[str, str]:
    """The ``Prefer`` header as a dict (``odata.maxpagesize`` -> ``"50"``, ``return`` -> ``"representation"``)."""
    values: dict[str, str] = {}
    for part in (request.header("prefer") or "").split(","):
        match = _PREFERENCE.match(part)
        if match and match.group(1):
            values[match.group(1).lower()] = (match.group(2) or "").strip().strip('"')
    return values


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """Split ``path?query`` (as found in a batch part) into the path and the decoded query."""
    parts = urlsplit(target)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


Handler = Callable[[Request], Response]


def asgi_app(handler: Handler, *, prefix: re.Pattern[str]) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app serving ``handler`` below the service root ``prefix`` matches. The handler runs in a worker
    thread (it does blocking database work); an unexpected exception becomes a 500 with an error body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        starlette_request = StarletteRequest(scope, receive)
        path = starlette_request.url.path
        match = prefix.match(path)
        if match is None:
            response = ODataError(404, "NotFound", f"No service at {path}.").response()
        else:
            body = await starlette_request.body()
            base = str(starlette_request.base_url).rstrip("/")
            request = Request(
                method=starlette_request.method.upper(),
                path=path[match.end() :].lstrip("/"),
                query=dict(starlette_request.query_params),
                headers={k.lower(): v for k, v in starlette_request.headers.items()},
                body=body,
                root=f"{base}{match.group(0).rstrip('/')}/",
            )
            response = await run_in_threadpool(_safely, handler, request)
        await StarletteResponse(response.body, status_code=response.status, headers=response.headers)(
            scope, receive, send
        )

    return app


def _safely(handler: Handler, request: Request) -> Response:
    try:
        return handler(request)
    except ODataError as error:
        return error.response()
    except Exception as exc:  # the server's own bug: still an error body, not a dropped request
        return ODataError(500, "InternalServerError", f"{type(exc).__name__}: {exc}").response()

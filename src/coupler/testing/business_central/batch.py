"""Business Central's JSON ``$batch``: at most 100 requests; ``Isolation: snapshot`` runs them in one
transaction (one failure rolls back all: the others answer 424), otherwise each runs on its own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from coupler.testing.odata.http import ODataError, Request, Response, json_response, parse_target

if TYPE_CHECKING:
    from coupler.testing.business_central.ops import BusinessCentralOps

__all__ = ["MAX_OPERATIONS", "handle"]

MAX_OPERATIONS = 100


class _RolledBack(Exception):
    pass


def handle(server: BusinessCentralOps, request: Request, base: str) -> Response:
    """``base`` is the path the batch was posted under (``companies(<id>)/`` or empty), which relative URLs of
    its requests start from."""
    if request.method != "POST":
        raise ODataError(405, "BadRequest_MethodNotAllowed", "$batch takes POST.")
    payload = request.json()
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise ODataError(400, "BadRequest", 'The batch body must be {"requests": [{"id", "method", "url", ...}]}.')
    if len(requests) > MAX_OPERATIONS:
        raise ODataError(
            400, "BadRequest", f"The batch holds {len(requests)} requests; at most {MAX_OPERATIONS} are allowed."
        )
    inner = [_inner(item, request, base) for item in requests]
    ids = [str(item.get("id", index + 1)) for index, item in enumerate(requests)]
    if (request.header("isolation") or "").lower() == "snapshot":
        responses = _atomic(server, inner)
    else:
        responses = [_run(server, r, None) for r in inner]
    return json_response(
        200, {"responses": [_json(id_, response) for id_, response in zip(ids, responses, strict=True)]}
    )


def _atomic(server: BusinessCentralOps, inner: list[Request]) -> list[Response]:
    responses: list[Response] = []
    try:
        with server.store.transaction() as conn:
            for request in inner:
                response = _run(server, request, conn)
                responses.append(response)
                if response.status >= 400:
                    raise _RolledBack
    except _RolledBack:
        failed = len(responses) - 1
        dependency = ODataError(
            424, "BadRequest_FailedDependency", "The batch was rolled back because another request in it failed."
        ).response()
        return [responses[failed] if i == failed else dependency for i in range(len(inner))]
    return responses


def _run(server: BusinessCentralOps, request: Request, conn: Any) -> Response:
    try:
        return server.execute(request, conn)
    except ODataError as error:
        return error.response()


def _inner(item: dict[str, Any], batch: Request, base: str) -> Request:
    method, url = str(item.get("method", "")).upper(), str(item.get("url", ""))
    if not method or not url:
        raise ODataError(400, "BadRequest", f"Batch request {item.get('id')!r} needs a method and a url.")
    path, query = parse_target(url)
    root_path = urlsplit(batch.root).path
    if path.startswith(root_path):
        path = path[len(root_path) :]
    elif not path.startswith("companies("):
        path = base + path.lstrip("/")
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    body = item.get("body")
    return Request(
        method=method,
        path=path.lstrip("/"),
        query=query,
        headers={**{k: v for k, v in batch.headers.items() if k == "authorization"}, **headers},
        body=json.dumps(body).encode() if body is not None else b"",
        root=batch.root,
    )


def _json(id_: str, response: Response) -> dict[str, Any]:
    body = json.loads(response.body) if response.body else None
    headers = {k: v for k, v in response.headers.items() if k in ("etag", "location", "content-type")}
    return {"id": id_, "status": response.status, "headers": headers, "body": body}

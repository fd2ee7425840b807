"""Dataverse ``$batch``: ``multipart/mixed`` parts, each a raw HTTP request, and changesets (nested multiparts,
atomic, no GET). Without ``Prefer: odata.continue-on-error`` the batch stops at the first failed part."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from coupler.testing.odata.http import ODataError, Request, Response, parse_target, prefer

if TYPE_CHECKING:
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["MAX_OPERATIONS", "Part", "handle", "split_multipart"]

MAX_OPERATIONS = 1000
_REFERENCE = re.compile(r"^\$(\w+)(/.*)?$")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


@dataclass(kw_only=True)
class Part:
    headers: dict[str, str]
    body: bytes
    changeset: list[Part] = field(default_factory=list)


class _Failed(Exception):
    def __init__(self, response: Response, content_id: str | None) -> None:
        self.response = response
        self.content_id = content_id


def handle(server: DataverseOps, request: Request) -> Response:
    if request.method != "POST":
        raise ODataError(405, "0x80060888", "$batch takes POST.")
    parts = split_multipart(request.header("content-type") or "", request.body)
    operations = sum(len(p.changeset) or 1 for p in parts)
    if operations > MAX_OPERATIONS:
        raise ODataError(
            400, "0x80060888", f"The batch holds {operations} requests; at most {MAX_OPERATIONS} are allowed."
        )
    continue_on_error = "odata.continue-on-error" in prefer(request)
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for part in parts:
        if part.changeset:
            body, failed = _run_changeset(server, request, part.changeset)
            chunks.append(body)
        else:
            response = _run(server, request, _inner(part, request, {}), None)
            chunks.append(_http_part(response, None))
            failed = response.status >= 400
        if failed and not continue_on_error:
            break
    payload = b"".join(f"--{boundary}\r\n".encode() + chunk for chunk in chunks) + f"--{boundary}--\r\n".encode()
    headers = {"content-type": f"multipart/mixed; boundary={boundary}", "odata-version": "4.0"}
    if continue_on_error:
        headers["preference-applied"] = "odata.continue-on-error"
    return Response(status=200, body=payload, headers=headers)


def _run_changeset(server: DataverseOps, request: Request, parts: list[Part]) -> tuple[bytes, bool]:
    entity_ids: dict[str, str] = {}
    responses: list[tuple[Response, str | None]] = []
    try:
        with server.store.transaction(server.app_user_id) as conn:
            for part in parts:
                inner = _inner(part, request, entity_ids)
                if inner.method == "GET":
                    raise ODataError(400, "0x80060888", "A changeset cannot hold a GET request.")
                content_id = part.headers.get("content-id")
                response = _run(server, request, inner, conn)
                if response.status >= 400:
                    raise _Failed(response, content_id)
                if content_id and "odata-entityid" in response.headers:
                    entity_ids[content_id] = response.headers["odata-entityid"]
                responses.append((response, content_id))
    except _Failed as failure:  # the transaction rolled back: only the error is reported
        return _http_part(failure.response, failure.content_id), True
    except ODataError as error:
        return _http_part(error.response(), None), True
    boundary = f"changesetresponse_{uuid.uuid4()}"
    answered = b"".join(f"--{boundary}\r\n".encode() + _http_part(r, cid) for r, cid in responses)
    body = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode() + answered
    return body + f"--{boundary}--\r\n".encode(), False


def _run(server: DataverseOps, batch: Request, inner: Request, conn: object) -> Response:
    try:
        return server.execute(inner, conn)  # type: ignore[arg-type]
    except ODataError as error:
        return error.response()


def _inner(part: Part, batch: Request, entity_ids: dict[str, str]) -> Request:
    head, _, body = part.body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise ODataError(400, "0x80060888", f"'{lines[0]}' is not an HTTP request line.") from None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    reference = _REFERENCE.match(target)
    if reference and not reference.group(1).startswith(("batch", "metadata")):
        resolved = entity_ids.get(reference.group(1))
        if resolved is None:
            raise ODataError(400, "0x80060888", f"The Content-ID reference ${reference.group(1)} is unknown.")
        target = resolved + (reference.group(2) or "")
    path, query = parse_target(target)
    root_path = urlsplit(batch.root).path
    if path.startswith(root_path):
        path = path[len(root_path) :]
    elif path.startswith(root_path.rstrip("/")):
        path = path[len(root_path.rstrip("/")) :]
    return Request(
        method=method.upper(),
        path=path.lstrip("/"),
        query=query,
        headers={**{k: v for k, v in batch.headers.items() if k == "authorization"}, **headers},
        body=body.rstrip(b"\r\n") if body.strip() else b"",
        root=batch.root,
    )


def _http_part(response: Response, content_id: str | None) -> bytes:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    reason = HTTPStatus(response.status).phrase
    lines = [f"HTTP/1.1 {response.status} {reason}"] + [f"{k}: {v}" for k, v in response.headers.items()]
    return (head + "\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + response.body + b"\r\n"


def split_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a ``multipart/mixed`` body (a part that is itself multipart becomes a changeset)."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/mixed") or match is None:
        raise ODataError(400, "0x80060888", "A $batch needs Content-Type: multipart/mixed; boundary=...")
    delimiter = f"--{match.group(1)}".encode()
    chunks = body.split(delimiter)
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise ODataError(400, "0x80060888", f"The batch body does not end with {delimiter.decode()}--.")
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.decode().split("\r\n"))
        }
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            parts.append(Part(headers=headers, body=b"", changeset=split_multipart(part_type, content)))
        else:
            parts.append(Part(headers=headers, body=content))
    return parts

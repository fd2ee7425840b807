"""OData ``$batch`` bodies: Dataverse's multipart/mixed form (with changesets) and Business Central's JSON form.

Each request of a batch is a ``BatchPart``; the answer is one ``PartResult`` per part, in the order sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BatchPart",
    "PartResult",
    "decode_json_batch",
    "decode_multipart",
    "encode_json_batch",
    "encode_multipart",
    "reads_only",
]

_CRLF = "\r\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchPart:
    method: str
    url: str  # absolute for multipart (Dataverse), relative to the API root for JSON (Business Central)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PartResult:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON, or None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def reads_only(parts: Sequence[BatchPart]) -> bool:
    """Whether every request of a batch only reads: then the batch may be sent again after a dropped connection or
    a 5xx, like a single GET (a batch that writes may have been carried out, and is never resent)."""
    return all(part.method.upper() == "GET" for part in parts)


def encode_multipart(parts: Sequence[BatchPart], *, changeset: bool = False) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart ``$batch``: ``changeset`` wraps every part in one atomic changeset."""
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    if changeset:
        inner = f"changeset_{uuid.uuid4()}"
        lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for index, part in enumerate(parts, start=1):
            lines += [f"--{inner}", *_part(part, content_id=index)]
        lines += [f"--{inner}--", ""]
    else:
        for part in parts:
            lines += [f"--{boundary}", *_part(part)]
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", _CRLF.join(lines).encode("utf-8")


def _part(part: BatchPart, *, content_id: int | None = None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{part.method} {part.url} HTTP/1.1"]
    headers = dict(part.headers)
    if part.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["", json.dumps(part.body, default=str) if part.body is not None else ""]
    return lines


def decode_multipart(content_type: str, body: bytes) -> list[PartResult]:
    """The responses of a multipart ``$batch`` answer, flattening changesets, in order."""
    boundary = _boundary(content_type)
    if boundary is None:
        raise ValueError(f"not a multipart answer (Content-Type {content_type!r})")
    results: list[PartResult] = []
    for chunk in _split(body.decode("utf-8", errors="replace"), boundary):
        head, _, rest = chunk.partition("\r\n\r\n") if "\r\n\r\n" in chunk else chunk.partition("\n\n")
        headers = _headers(head)
        inner = _boundary(headers.get("content-type", ""))
        if inner is not None:
            results.extend(decode_multipart(headers["content-type"], rest.encode("utf-8")))
        else:
            results.append(_response(rest))
    return results


def encode_json_batch(parts: Sequence[BatchPart]) -> dict[str, Any]:
    """A Business Central JSON ``$batch`` body; request ids are the positions, from "1"."""
    requests = []
    for index, part in enumerate(parts, start=1):
        request: dict[str, Any] = {"id": str(index), "method": part.method, "url": part.url}
        headers = dict(part.headers)
        if part.body is not None:
            headers.setdefault("Content-Type", "application/json")
            request["body"] = part.body
        if headers:
            request["headers"] = headers
        requests.append(request)
    return {"requests": requests}


def decode_json_batch(answer: Any, count: int) -> list[PartResult]:
    """One result per request sent (``count``), in order, whatever order the answer lists them in."""
    responses = answer.get("responses") if isinstance(answer, dict) else None
    if not isinstance(responses, list):
        raise ValueError("the $batch answer has no responses list")
    by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict)}
    results = []
    for index in range(1, count + 1):
        response = by_id.get(str(index))
        if response is None:
            results.append(PartResult(status=0, headers={}, body={"error": {"message": "no answer in the batch"}}))
            continue
        headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
        results.append(PartResult(status=int(response.get("status", 0)), headers=headers, body=response.get("body")))
    return results


def _boundary(content_type: str) -> str | None:
    if "multipart/" not in content_type.lower():
        return None
    for piece in content_type.split(";"):
        name, _, value = piece.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip().strip('"')
    return None


def _split(text: str, boundary: str) -> list[str]:
    chunks = []
    for piece in text.split(f"--{boundary}")[1:]:
        if piece.startswith("--"):
            break
        chunks.append(piece.lstrip("\r\n").rstrip("\r\n"))
    return chunks


def _headers(block: str) -> dict[str, str]:
    headers = {}
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _response(text: str) -> PartResult:
    """``HTTP/1.1 204 No Content`` then headers, a blank line, and a body."""
    text = text.lstrip("\r\n")
    if "\r\n\r\n" in text:
        head, _, body = text.partition("\r\n\r\n")
    else:
        head, _, body = text.partition("\n\n")
    status_line, _, header_block = head.partition("\n")
    pieces = status_line.split()
    status = int(pieces[1]) if len(pieces) > 1 and pieces[1].isdigit() else 0
    body = body.strip()
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body
    return PartResult(status=status, headers=_headers(header_block), body=parsed)

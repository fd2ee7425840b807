"""Build and read Dataverse multipart $batch bodies in tests (the format the Web API documents)."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["Op", "batch_body", "read_batch_response"]

Op = tuple[str, str, Any]  # method, url, JSON body or None


def _request(op: Op, content_id: int | None) -> str:
    method, url, body = op
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\r\n"
    text = f"{head}\r\n{method} {url} HTTP/1.1\r\n"
    if body is not None:
        text += f"Content-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
    else:
        text += "\r\n"
    return text


def batch_body(boundary: str, items: list[Op | list[Op]]) -> str:
    """Parts for ``items``; a list inside is a changeset."""
    text = ""
    for index, item in enumerate(items):
        text += f"--{boundary}\r\n"
        if isinstance(item, list):
            inner = f"changeset_{index}"
            text += f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n"
            for number, op in enumerate(item, start=1):
                text += f"--{inner}\r\n" + _request(op, number)
            text += f"--{inner}--\r\n"
        else:
            text += _request(item, None)
    return text + f"--{boundary}--\r\n"


def read_batch_response(content_type: str, body: str) -> list[tuple[int, Any]]:
    """Every HTTP response inside (changesets flattened), as (status, JSON body or None)."""
    boundary = re.search(r"boundary=([^;]+)", content_type)
    assert boundary, content_type
    found: list[tuple[int, Any]] = []
    for chunk in body.split(f"--{boundary.group(1)}")[1:-1]:
        head, _, rest = chunk.strip("\r\n").partition("\r\n\r\n")
        if "multipart/mixed" in head:
            found += read_batch_response(head, rest)
            continue
        status_line, _, after = rest.partition("\r\n")
        status = int(status_line.split(" ")[1])
        _, _, payload = after.partition("\r\n\r\n")
        found.append((status, json.loads(payload) if payload.strip() else None))
    return found

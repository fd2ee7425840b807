"""Reading an OData service's answers: the records of a page, and what a refused request says."""

from __future__ import annotations

import json
import re
from typing import Any

from coupler.adapters.connectors.odata.batch import PartResult
from coupler.adapters.connectors.odata.entity import Row
from coupler.domain.errors import PermanentConnectorError

__all__ = ["detail_of", "error_message_of", "rows_of"]


def rows_of(answer: Any, system: str) -> list[Row]:
    rows = answer.get("value") if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise PermanentConnectorError(f"{system}: the answer holds no 'value' list of records")
    return rows


def detail_of(status: int, body: Any) -> str:
    """The service's whole answer to a refused write, for the job log's detail."""
    text = json.dumps(body, default=str) if isinstance(body, dict | list) else str(body or "")
    return f"HTTP {status}: {text[:2000]}"


_CORRELATION = re.compile(r"\s*CorrelationId:\s*[0-9A-Fa-f-]+\.?")
"""Business Central's per-request id in an error message (the job log's detail keeps the whole answer)."""


def error_message_of(outcome: PartResult) -> str:
    body = outcome.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = str(error.get("message") or "").strip().splitlines()
        text = _CORRELATION.sub("", message[0]) if message else "no message"  # the same failure, the same message
        return f"{text} ({error['code']})" if error.get("code") else text
    if isinstance(body, str) and body.strip():
        return body.strip().splitlines()[0][:300]
    return f"status {outcome.status}"

"""coupler's log lines: JSON, one object a line, when stderr is not a terminal (a service's journal, a container's
log) or ``COUPLER_LOG_FORMAT=json``; readable text on a terminal (or ``COUPLER_LOG_FORMAT=text``).

Every line carries the fields bound to its context (``services/log_context.py``): a job's lines its ``job`` id,
``mapping`` and ``connection``. No secret is ever written: coupler's messages name no secret, and the handler
replaces any configured secret value (client secrets, passwords, the web app's access token) that a message from
elsewhere (a library's exception, say) would carry by ``***``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from coupler.services.log_context import log_context

__all__ = [
    "FORMAT_ENV",
    "ContextFilter",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "secrets_in",
    "wants_json",
]

FORMAT_ENV = "COUPLER_LOG_FORMAT"
_MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary words


class Redactor:
    """Replaces each of ``secrets`` (the longest first, so that one containing another is masked whole)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text


def _context(record: logging.LogRecord) -> dict[str, str]:
    """The context's fields, as bound where the record was made (``ContextFilter``) or where it is formatted."""
    bound: dict[str, str] | None = getattr(record, "coupler_context", None)
    return bound if bound is not None else dict(log_context())


class ContextFilter(logging.Filter):
    """Takes the context's fields when the record is made (a handler may format it on another thread)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "coupler_context"):
            record.coupler_context = dict(log_context())
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", <context fields>, "error"?}``: time in UTC, ISO 8601."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``12:00:01 WARNING  [CUSTOMER 1b2c3d4e] message``: the mapping and the job id's first characters."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)-8s %(message)s", datefmt="%H:%M:%S")
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        context = _context(record)
        tags = " ".join(filter(None, (context.get("mapping"), (context.get("job") or "")[:8])))
        text = super().format(record)
        if tags:
            head, sep, message = text.partition(f"{record.levelname:<8} ")
            text = f"{head}{sep}[{tags}] {message}"
        return self.redact(text)


def wants_json(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """JSON unless ``stream`` is a terminal; ``COUPLER_LOG_FORMAT`` (json or text) decides first."""
    chosen = (environ if environ is not None else os.environ).get(FORMAT_ENV, "").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure_logging(
    *,
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    secrets: Iterable[str] = (),
    environ: dict[str, str] | None = None,
) -> logging.Handler:
    """Send the ``coupler`` loggers' lines (and uvicorn's, which propagate to the root) to ``stream`` (stderr) in
    the format ``wants_json`` picks, with ``secrets`` masked. Replaces the handler an earlier call installed;
    returns the new one."""
    stream = stream or sys.stderr
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream)
    handler.set_name("coupler")
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter(redact) if wants_json(stream, environ) else TextFormatter(redact))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "coupler"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries' warnings only (httpx's INFO lines would show query strings)
    logging.getLogger("coupler").setLevel(level)
    return handler


def secrets_in(*settings: BaseModel, urls: Iterable[str] = ()) -> list[str]:
    """The secret values of ``settings`` (their SecretStr fields, as resolved from the environment) and the
    passwords written in ``urls`` (a database URL's): what ``configure_logging`` masks."""
    found = [
        value.get_secret_value()
        for model in settings
        for name in type(model).model_fields
        if isinstance(value := getattr(model, name), SecretStr)
    ]
    for url in [*urls, *(str(getattr(model, "url", "") or "") for model in settings)]:
        with contextlib.suppress(ValueError):
            if password := urlsplit(url).password:
                found.append(unquote(password))
    return [value for value in found if value]

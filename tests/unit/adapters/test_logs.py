"""The log formats: JSON lines off a terminal, text on one, the job's context on each line, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, SecretStr

from coupler.adapters.logs import JsonFormatter, Redactor, TextFormatter, configure_logging, secrets_in, wants_json
from coupler.services.log_context import bound

log = logging.getLogger("coupler.tests.logs")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, ours = logging.getLogger(), logging.getLogger("coupler")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    yield
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    ours.setLevel(levels[1])


def record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("coupler.x", level, __file__, 1, message, args, None)


def test_a_json_line_carries_the_context_bound_where_it_was_made() -> None:
    with bound(job="j-1", mapping="CUSTOMER", connection="/etc/coupler/cronus.toml"):
        line = json.loads(JsonFormatter().format(record("%s records", 3)))
    assert line["message"] == "3 records" and line["level"] == "info" and line["logger"] == "coupler.x"
    assert (line["job"], line["mapping"], line["connection"]) == ("j-1", "CUSTOMER", "/etc/coupler/cronus.toml")
    assert line["time"].endswith("+00:00")


def test_a_json_line_carries_the_traceback_as_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        made = logging.LogRecord("coupler.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(made))
    assert "ValueError: boom" in line["error"]


def test_text_shows_the_mapping_and_the_job_id_start() -> None:
    with bound(job="1b2c3d4e-aaaa", mapping="CUSTOMER"):
        text = TextFormatter().format(record("started", level=logging.WARNING))
    assert text.endswith("WARNING  [CUSTOMER 1b2c3d4e] started")
    assert TextFormatter().format(record("plain")).endswith("INFO     plain")


def test_secrets_are_masked_whole_in_both_formats() -> None:
    redact = Redactor(["s3cr3t", "s3cr3t-longer", "ab"])  # too short a value masks nothing
    assert redact("s3cr3t-longer and s3cr3t, abc") == "*** and ***, abc"
    made = record("token %s", "s3cr3t")
    assert "s3cr3t" not in JsonFormatter(redact).format(made) and "s3cr3t" not in TextFormatter(redact).format(made)


def test_json_off_a_terminal_text_on_one_unless_told() -> None:
    assert wants_json(io.StringIO(), {}) is True
    assert wants_json(Tty(), {}) is False
    assert wants_json(Tty(), {"COUPLER_LOG_FORMAT": "json"}) is True
    assert wants_json(io.StringIO(), {"COUPLER_LOG_FORMAT": "TEXT"}) is False


class Side(BaseModel):
    url: str
    client_secret: SecretStr | None = None
    password: SecretStr | None = None


def test_the_secrets_of_the_settings_and_of_urls() -> None:
    local = Side(url="https://api.businesscentral.dynamics.com", client_secret=SecretStr("bc-secret"))
    integration = Side(url="postgresql://crm:p%40ss@db/crm", password=SecretStr(""))
    found = secrets_in(local, integration, urls=["postgresql://coupler:st%3Ate@db/state", "sqlite:///x.db"])
    assert sorted(found) == ["bc-secret", "p@ss", "st:te"]


def test_configure_logging_writes_json_lines_with_the_secrets_masked(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, secrets=["hunter2-secret"], environ={})
    configure_logging(stream=stream, secrets=["hunter2-secret"], environ={})  # once more: still one handler
    with bound(job="j-2", mapping="ITEM"):
        log.info("signed in with %s", "hunter2-secret")
    logging.getLogger("coupler.tests.logs").debug("not at this level")
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "signed in with ***" and line["job"] == "j-2" and line["mapping"] == "ITEM"

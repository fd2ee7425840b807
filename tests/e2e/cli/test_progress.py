"""Long commands show progress on stderr at a terminal: records done of the total, the rate and the time left; at
no terminal, and with --json, nothing. Rich's own TTY_COMPATIBLE=1 stands for a terminal here."""

from __future__ import annotations

import re

import pytest

from .support import Demo

pytestmark = pytest.mark.e2e

TERMINAL = {"TTY_COMPATIBLE": "1", "COLUMNS": "160", "NO_COLOR": "1"}
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RATE = re.compile(r"\d[\d,]* records/s")
LEFT = re.compile(r"\d+:\d\d:\d\d left")


def _small_batches(demo: Demo) -> None:
    """Pages of 5 records, so that the bar is redrawn several times on the demo's few dozen customers."""
    text = demo.config.read_text(encoding="utf-8")
    demo.config.write_text(text.replace("[local]", "[sync]\nbatch_size = 5\n\n[local]", 1), encoding="utf-8")


def test_match_create_missing_shows_done_of_total_the_rate_and_the_time_left(demo: Demo) -> None:
    demo.couple_references()
    _small_batches(demo)

    result = demo.coupler("match", "CUSTOMER", "--create-missing", env=TERMINAL, expect=None)

    assert result.code in (0, 1), str(result)
    stderr = ESCAPE.sub("", result.stderr)
    assert "CUSTOMER match" in stderr
    assert re.search(r"\d+/\d+ records", stderr), stderr
    assert RATE.search(stderr), stderr
    assert LEFT.search(stderr), stderr
    assert "done in" in stderr, stderr


def test_sync_full_and_review_show_progress(demo: Demo) -> None:
    demo.couple_references()
    _small_batches(demo)

    full = demo.coupler("sync", "CUSTOMER", "--full", "--force", env=TERMINAL, expect=None)
    assert RATE.search(ESCAPE.sub("", full.stderr)) and "done in" in full.stderr, str(full)

    review = demo.coupler("review", env=TERMINAL)
    assert re.search(r"Reviewing .* 5/5 mappings", ESCAPE.sub("", review.stderr)), str(review)


def test_nothing_at_no_terminal_nor_with_json(demo: Demo) -> None:
    demo.couple_references()
    _small_batches(demo)

    assert "records/s" not in demo.coupler("match", "CUSTOMER", expect=None).stderr
    as_json = demo.coupler("match", "CONTACT", "--json", env=TERMINAL, expect=None)
    assert "records/s" not in as_json.stderr and "left" not in as_json.stderr
    as_json.json()

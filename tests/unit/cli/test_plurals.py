"""Counts in the CLI's words: "1 conflict", "2 conflicts", thousands separated, through one helper."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from coupler.domain.jobs import Counters, Job, JobError, JobKind
from coupler.entrypoints.cli.commands.core import _attention
from coupler.entrypoints.cli.render import counts, print_reports
from coupler.entrypoints.schemas.mappings import CountsOut
from coupler.services.engine.recorder import JobReport
from coupler.services.lease import _duration
from coupler.services.wording import plural

CLI = Path(__file__).resolve().parents[3] / "src" / "coupler" / "entrypoints" / "cli"


@pytest.mark.parametrize(
    ("count", "noun", "many", "expected"),
    [
        (0, "conflict", None, "0 conflicts"),
        (1, "conflict", None, "1 conflict"),
        (2, "conflict", None, "2 conflicts"),
        (1, "coupled record", None, "1 coupled record"),
        (1250, "record", None, "1,250 records"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_plural(count: int, noun: str, many: str | None, expected: str) -> None:
    assert plural(count, noun, many) == expected


def test_job_counters_name_one_conflict_in_the_singular() -> None:
    assert counts({"inserted": 1, "conflicts": 1}) == "1 inserted, 1 conflict"
    assert counts({"inserted": 2, "conflicts": 2}) == "2 inserted, 2 conflicts"
    assert counts({}) == "nothing to do"


def test_what_needs_attention_agrees_with_its_counts() -> None:
    one = CountsOut(couplings=5, failed=1, skipped=1, conflicts=1, pending_deletions=1, errors=1)
    assert _attention(one) == "1 failed, 1 skipped, 1 conflict, 1 pending deletion, 1 error"
    two = CountsOut(couplings=5, failed=2, skipped=2, conflicts=2, pending_deletions=2, errors=2)
    assert _attention(two) == "2 failed, 2 skipped, 2 conflicts, 2 pending deletions, 2 errors"


def test_a_lock_time_to_live_in_words() -> None:
    assert (_duration(timedelta(minutes=1)), _duration(timedelta(minutes=5))) == ("1 minute", "5 minutes")
    assert (_duration(timedelta(seconds=1)), _duration(timedelta(seconds=1.5))) == ("1 second", "1.5 seconds")


def test_the_cli_writes_no_hand_made_plural() -> None:
    """A count followed by a noun with a hand-made s ("{n} errors", "record{'s' if ...}") is plural()'s job."""
    made = re.compile(r"""\{[^{}]*\}\s+(?:more\s+)?(?:errors|records|conflicts|rounds|couplings)\b|'s' if""")
    found = [
        f"{path.relative_to(CLI)}:{number}: {line.strip()}"
        for path in sorted(CLI.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if made.search(line) and "help=" not in line
    ]
    assert found == []


@pytest.mark.parametrize(
    ("failed", "line"), [(21, "... 1 more error of CUSTOMER"), (22, "... 2 more errors of CUSTOMER")]
)
def test_more_errors_than_shown_are_counted_in_words(failed: int, line: str) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job(id="j1", mapping="CUSTOMER", kind=JobKind.FULL, direction="to-integration", started_at=at)
    errors = tuple(
        JobError(
            job_id="j1", mapping="CUSTOMER", local_key=f"C{n}", integration_key=None, message="no", detail=None, at=at
        )
        for n in range(failed)
    )
    output = io.StringIO()
    print_reports(
        Console(file=output, width=200),
        [JobReport(job=job.finish(at=at, counters=Counters(failed=failed)), errors=errors)],
    )
    assert line in output.getvalue()

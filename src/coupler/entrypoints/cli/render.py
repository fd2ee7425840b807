"""Rich output for people at a terminal: tables and a summary per job (the progress bar is in ``progress``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from coupler.domain.jobs import Counters
from coupler.domain.timeutil import format_iso
from coupler.services.wording import plural

if TYPE_CHECKING:
    from coupler.services.engine.recorder import JobReport

__all__ = ["COUNTERS", "counts", "plural", "print_reports", "table"]

COUNTERS = tuple(Counters().as_dict())
_ONE = {"conflicts": "conflict"}
"""The counters whose name is a noun: their word for one (the others are adjectives: 1 inserted, 2 inserted)."""


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """Cells as text: None empty, times in ISO 8601 UTC with milliseconds."""
    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(_text(cell) for cell in row))
    return result


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    return format_iso(cell) if isinstance(cell, datetime) else str(cell)


def counts(values: dict[str, int]) -> str:
    """Non-zero counters in reading order, e.g. "3 inserted, 1 conflict"; "nothing to do" when all are zero."""
    parts = [plural(values[name], _ONE.get(name, name), name) for name in COUNTERS if values.get(name)]
    return ", ".join(parts) or "nothing to do"


def print_reports(console: Console, reports: Sequence[JobReport], *, errors_shown: int = 20) -> None:
    rows = []
    for report in reports:
        job = report.job
        duration = f"{job.duration_seconds:.2f}s" if job.duration_seconds is not None else ""
        rows.append([job.mapping, job.kind.value, job.direction, counts(job.counters.as_dict()), duration])
    console.print(table("Summary", ["mapping", "job", "direction", "records", "time"], rows))
    budget = errors_shown
    for report in reports:
        printed = report.errors[:budget]
        for error in printed:
            console.print(f"[red]error[/red] {error.mapping}: {error.message}", highlight=False, soft_wrap=True)
        budget -= len(printed)
        more = max(report.job.counters.failed, len(report.errors)) - len(printed)
        if more > 0:
            console.print(f"... {plural(more, 'more error')} of {report.job.mapping}: coupler errors {report.job.id}")
    for report in reports:
        if report.job.message:
            console.print(report.job.message, highlight=False)

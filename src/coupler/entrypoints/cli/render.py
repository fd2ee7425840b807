"""Rich output for people at a terminal: tables and a summary per job (the progress bar is in ``progress``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from coupler.domain.jobs import Counters
from coupler.domain.timeutil import format_iso
from coupler.entrypoints.cli.hints import for_reports
from coupler.services.wording import plural

if TYPE_CHECKING:
    from coupler.services.engine.recorder import JobReport

__all__ = ["COUNTERS", "KeyedTable", "counts", "plural", "print_reports", "table"]

COUNTERS = tuple(Counters().as_dict())
_ONE = {"conflicts": "conflict"}
"""The counters whose name is a noun: their word for one (the others are adjectives: 1 inserted, 2 inserted)."""
KEY_WIDTH = 36
"""The widest key a table keeps whole: a GUID."""
HEADING_WIDTH = 11
"""The narrowest a column gets at a narrow terminal: its heading's width, up to this."""


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, keys: Sequence[str] | None = None
) -> KeyedTable:
    """Cells as text: None empty, times in ISO 8601 UTC with milliseconds. The ``keys`` columns (default: the first)
    name the row (a mapping, a record's key, a job's id): they never wrap, as wide as their longest key up to
    ``KEY_WIDTH``, so that a key reads and copies whole; at a narrow terminal the other columns wrap, the widest
    first, and the table stays within the terminal's width."""
    whole = {0} if keys is None else {list(columns).index(key) for key in keys}
    cells = [[_text(cell) for cell in row] for row in rows]
    return KeyedTable(title=title, columns=tuple(columns), rows=cells, keys=frozenset(whole))


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyedTable:
    """A table laid out when printed, for the console's width (see ``table``)."""

    title: str | None
    columns: tuple[str, ...]
    rows: list[list[str]]
    keys: frozenset[int]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.layout(options.max_width)

    def layout(self, width: int) -> Table:
        keys = {i: min(max((len(row[i]) for row in self.rows), default=1), KEY_WIDTH) for i in self.keys}
        others = [i for i in range(len(self.columns)) if i not in keys]
        room = width - 3 * len(self.columns) - 1 - sum(keys.values())  # borders and padding: 3 a column, and 1
        fits = room >= len(others)  # at least one character for each other column
        share = room // len(others) if others and fits else 0
        result = Table(title=self.title, title_justify="left")
        for index, column in enumerate(self.columns):
            if index in keys and fits:
                result.add_column(column, no_wrap=True, min_width=max(keys[index], 1))
            else:
                least = min(len(column), HEADING_WIDTH, share) if fits else None
                result.add_column(column, overflow="fold", min_width=least or None)
        for row in self.rows:
            result.add_row(*row)
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
    for hint in for_reports(reports):
        console.print(hint, highlight=False, soft_wrap=True)

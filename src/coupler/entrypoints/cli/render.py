"""Rich output for people at a terminal: tables, a summary per job, and a progress bar for long runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

from coupler.domain.jobs import Counters
from coupler.domain.timeutil import format_iso
from coupler.services.context import Progress
from coupler.services.engine.recorder import JobReport

__all__ = ["COUNTERS", "BarProgress", "counts", "print_reports", "table"]

COUNTERS = tuple(Counters().as_dict())


class BarProgress(Progress):
    """A rich progress bar; one line per stretch of work (mapping and direction). With a total (a full
    synchronization, a match, a selection, decouple all) it shows how far it is in percent; without one (an
    incremental run) it pulses and counts the records done."""

    def __init__(self, console: Console) -> None:
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task: Any = None

    def start(self, label: str, total: int | None = None) -> None:
        if self.task is None:
            self.bar.start()
        self.task = self.bar.add_task(label, total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, count)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()


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
    """Non-zero counters in reading order, e.g. "3 inserted, 2 failed"; "nothing to do" when all are zero."""
    parts = [f"{values[name]} {name}" for name in COUNTERS if values.get(name)]
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
            console.print(f"... {more} more errors of {report.job.mapping}: coupler errors {report.job.id}")
    for report in reports:
        if report.job.message:
            console.print(report.job.message, highlight=False)

"""The progress bar long commands show on stderr at a terminal: records done of the total, the rate and an estimate
of the time left. Imported only by a command that shows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.progress import Progress as RichBar
from rich.text import Text

from coupler.services.context import Progress

__all__ = ["BarProgress", "estimate", "rate"]


def rate(task: Task) -> float | None:
    """Units done per second since the stretch began (None before the first are done)."""
    elapsed = task.finished_time if task.finished else task.elapsed
    if not task.completed or not elapsed:
        return None
    return task.completed / elapsed


def estimate(task: Task) -> float | None:
    """Seconds left at the rate so far; None without a total or a rate."""
    speed = rate(task)
    if task.total is None or speed is None:
        return None
    return max(task.total - task.completed, 0) / speed


class RateColumn(ProgressColumn):
    """``1,234 records/s``."""

    def render(self, task: Task) -> Text:
        speed = rate(task)
        unit = task.fields.get("unit", "records")
        return Text("" if speed is None else f"{speed:,.0f} {unit}/s", style="progress.data.speed")


class EstimateColumn(ProgressColumn):
    """``0:01:05 left`` while running, ``done in 0:00:03`` at the end; nothing without a total."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        if task.finished:
            return Text(f"done in {_clock(task.finished_time or 0)}", style="progress.elapsed")
        left = estimate(task)
        return Text("" if left is None else f"{_clock(left)} left", style="progress.remaining")


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class BarProgress(Progress):
    """A rich progress bar; one line per stretch of work (mapping and direction). With a total (a full
    synchronization, a match, a selection, decouple all) it shows how far it is in percent and the time left;
    without one (an incremental run) it counts the units done. Both show the rate."""

    def __init__(self, console: Console) -> None:
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            RateColumn(),
            EstimateColumn(),
            console=console,
            transient=False,
        )
        self.task: Any = None

    def start(self, label: str, total: int | None = None, *, unit: str = "records") -> None:
        if self.task is None:
            self.bar.start()
        self.task = self.bar.add_task(label, total=total, unit=unit)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, count)
            self.bar.refresh()  # each batch is shown as it ends, however short

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()

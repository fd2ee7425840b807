"""`coupler run`: synchronize modified records of every mapping at an interval until stopped.

Ctrl-C or SIGTERM asks for a clean stop: the page in hand is finished and saved, its job is closed as stopped, and
the command exits 0. A second signal stops at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from coupler.domain.errors import CouplerError, UsageError
from coupler.domain.timeutil import format_iso
from coupler.entrypoints.cli.metrics import MetricsHost, MetricsPort
from coupler.entrypoints.cli.render import counts, plural
from coupler.entrypoints.cli.shell import ConfigOption, Exit, JsonOption, app, err, fail, out, session

if TYPE_CHECKING:
    from coupler.adapters.metrics import Metrics
    from coupler.services.api import Coupler
    from coupler.services.engine.schedule import MappingRun, Round

__all__ = ["parse_duration"]

DEFAULT_EVERY = timedelta(minutes=5)
ERRORS_PER_ROUND = 5
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1h30m``, ``2d``: whole numbers with units, largest first."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise UsageError(f"--every: {text!r} is not a duration; use a number with a unit, e.g. 30s, 5m, 1h or 1h30m.")
    seconds = sum(int(value) * unit for value, unit in zip(match.groups(), _UNITS.values(), strict=True) if value)
    if seconds <= 0:
        raise UsageError(f"--every: {text!r} is no time at all; the interval must be at least 1s.")
    return timedelta(seconds=seconds)


@app.command("run")
def run_command(
    mappings: Annotated[
        list[str] | None, typer.Argument(metavar="MAPPING", help="Only these table mappings (all by default).")
    ] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Time between rounds: 30s, 5m, 1h, 1h30m (default 5m).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="Defer one round to the job queue ([queue]) for `coupler worker`.")
    ] = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Synchronize modified records of every mapping in dependency order, again and again, until stopped."""
    if queue:
        from coupler.entrypoints.cli.commands.worker import defer_round

        if every is not None:
            fail(UsageError("--queue defers one round; the schedules are in [queue], leave out --every."), 2, as_json)
        if metrics_port is not None:
            fail(
                UsageError("--queue defers one round and ends; `coupler worker --metrics-port` serves metrics."),
                2,
                as_json,
            )
        defer_round(config, mappings, as_json)
        return
    try:
        if once and every is not None:
            raise UsageError("--once runs a single round; leave out --every.")
        interval = parse_duration(every) if every is not None else DEFAULT_EVERY
    except UsageError as error:
        fail(error, 2, as_json)
    printer = RoundPrinter(as_json=as_json)
    stop = threading.Event()
    opened: list[Coupler] = []  # the metrics' gauges read its state store once it is open
    with ExitStack() as stack:
        metrics = stack.enter_context(_metrics(config, metrics_host, metrics_port, opened, as_json))
        telemetry = metrics.telemetry if metrics is not None else None
        coupler = stack.enter_context(session(config, as_json, telemetry=telemetry))
        opened.append(coupler)
        stack.enter_context(stop_on_signals(stop))
        coupler.schedule(interval, stop=stop, mappings=mappings or None, rounds=1 if once else None, on_round=printer)
    if stop.is_set():
        err.print(f"Stopped cleanly after {plural(printer.rounds, 'round')}.")
    elif once and printer.failed:
        raise Exit(1)


@contextmanager
def _metrics(
    config: Path | None, host: str, port: int | None, opened: list[Coupler], as_json: bool
) -> Iterator[Metrics | None]:
    """With --metrics-port, the round's metrics served while inside: the jobs, records and requests of this process
    and the gauges of the state store of the Coupler in ``opened`` (none before it is open)."""
    if port is None:
        yield None
        return
    from coupler.config import load_config
    from coupler.entrypoints.cli.metrics import open_metrics

    try:
        metrics, close = open_metrics(load_config(config), host, port, lambda: opened[0].systems if opened else None)
    except CouplerError as error:
        fail(error, 2, as_json)
    try:
        yield metrics
    finally:
        close()


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT (Ctrl-C) and SIGTERM set ``stop``; a second signal interrupts at once."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may handle signals
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        # os.write: safe in a signal handler, unlike a buffered stream the interrupted code may be writing to
        os.write(2, b"Stopping: finishing the page in hand (signal again to stop at once).\n")

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class RoundPrinter:
    """Shows each round as it ends: a line on stdout (a JSON object per line with --json), and, with --json at a
    terminal, the same line for people on stderr."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.rounds = 0
        self.failed = False

    def __call__(self, done: Round) -> None:
        self.rounds += 1
        self.failed = self.failed or any(_failed(run) for run in done.runs)
        if self.as_json:
            from coupler.entrypoints.schemas.jobs import RoundOut

            sys.stdout.write(json.dumps(RoundOut.of(done).model_dump(mode="json")) + "\n")
            sys.stdout.flush()
            if err.is_terminal:
                self.show(err, done)
        else:
            self.show(out, done)

    @staticmethod
    def show(console: Console, done: Round) -> None:
        from coupler.services.engine.schedule import Outcome

        line = Text(f"{format_iso(done.started_at)} round {done.number}: ")
        if done.runs and all(run.outcome is Outcome.DISABLED for run in done.runs):
            line.append("the connection is disabled; nothing ran (coupler enable switches it on)", style="yellow")
            console.print(line, soft_wrap=True)
            return
        for index, run in enumerate(done.runs):
            line.append(" · " if index else "")
            line.append(run.mapping, style="bold")
            line.append(" ")
            line.append(*_outcome(run))
        if not done.runs:
            line.append("stopped before any mapping ran")
        console.print(line, soft_wrap=True)
        shown = 0
        for run in done.runs:
            if run.message and run.outcome is not Outcome.BUSY:
                console.print(Text(f"  {run.mapping} {run.outcome.value}: {run.message}", style="red"), soft_wrap=True)
            if run.report is None:
                continue
            errors = run.report.errors[: max(ERRORS_PER_ROUND - shown, 0)]
            for error in errors:
                console.print(Text(f"  error {error.mapping}: {error.message}"), soft_wrap=True)
            shown += len(errors)
            more = max(run.report.job.counters.failed, len(run.report.errors)) - len(errors)
            if more > 0:
                more_errors = plural(more, "more error")
                console.print(Text(f"  ... {more_errors} of {run.mapping}: coupler errors {run.report.job.id}"))


def _outcome(run: MappingRun) -> tuple[str, str]:
    """The text after the mapping's name, and its style."""
    from coupler.services.engine.schedule import Outcome

    done = counts(run.report.job.counters.as_dict()) if run.report is not None else None
    if run.outcome is Outcome.DONE and run.report is not None and done is not None:
        return done, "" if run.report.ok else "yellow"
    text = f"{run.outcome.value} ({done})" if done and run.report and run.report.job.counters.total else None
    return text or run.outcome.value, "red" if run.outcome is Outcome.FAILED else "yellow"


def _failed(run: MappingRun) -> bool:
    from coupler.services.engine.schedule import Outcome

    return run.outcome is Outcome.FAILED or (run.outcome is Outcome.DONE and not run.ok)

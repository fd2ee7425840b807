"""What every `coupler` command shares: the Typer app, consoles, common options, sessions, output and exit codes.

Exit codes: 0 done, 1 some records failed (the rest done) or a system failed, 2 the request cannot be carried out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from coupler.domain.errors import (
    ConfigurationError,
    ConnectionDisabled,
    CouplerError,
    MappingBusy,
    RecordError,
    UsageError,
)
from coupler.entrypoints.cli.hints import for_error, with_hint

if TYPE_CHECKING:
    from coupler.entrypoints.cli.progress import BarProgress
    from coupler.ports.telemetry import Telemetry
    from coupler.services.api import Coupler
    from coupler.services.engine.recorder import JobReport
    from coupler.services.engine.schedule import MappingRun

# Only typer, rich and the domain's errors load with the app, so that `coupler --help` starts at once; what a
# command needs (the composition root, SQLAlchemy, pydantic's models) is imported in the function that uses it.

__all__ = [
    "ConfigOption",
    "DirectionChoice",
    "Exit",
    "JsonOption",
    "SideChoice",
    "app",
    "emit",
    "err",
    "fail",
    "finish",
    "finish_round",
    "out",
    "session",
]

app = typer.Typer(
    name="coupler",
    help="Couple records between an ERP and a CRM and keep them synchronized.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="The configuration file (default ./coupler.toml or $COUPLER_CONFIG)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


class SideChoice(StrEnum):
    local = "local"
    integration = "integration"


class DirectionChoice(StrEnum):
    to_integration = "to-integration"
    from_integration = "from-integration"


class Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    """With --json, ``data`` on stdout: a response model of ``coupler.entrypoints.schemas`` (the REST API's for the
    same result), a list of them, or plain JSON values, or a function that builds them (so that a command printing
    for people neither imports nor builds the models); otherwise ``human()`` prints it for people."""
    if as_json:
        from pydantic_core import to_jsonable_python

        if callable(data):
            data = data()
        sys.stdout.write(json.dumps(to_jsonable_python(data), indent=2) + "\n")
    else:
        human()


@contextmanager
def session(
    config: Path | None,
    as_json: bool,
    *,
    progress: bool = False,
    validate: bool = True,
    telemetry: Telemetry | None = None,
) -> Iterator[Coupler]:
    """Open coupler for one command and turn its errors into clear messages and exit codes. The commands that only
    read coupler's own state (the job log, errors, conflicts...) pass ``validate=False``: they skip reading both
    systems' schemas, so they answer fast, and answer while a system is down or a mapped column is missing.
    ``telemetry`` is told of every job (`coupler run --metrics-port`)."""
    from coupler.bootstrap import open_coupler

    bar: BarProgress | None = None
    if progress and not as_json and err.is_terminal:
        from coupler.entrypoints.cli.progress import BarProgress

        bar = BarProgress(err)
    coupler: Coupler | None = None
    try:
        coupler = open_coupler(config, progress=bar, validate=validate, telemetry=telemetry)
        yield coupler
    except ConnectionDisabled as error:
        fail(UsageError(with_hint(error)), 2, as_json)
    except (ConfigurationError, UsageError, RecordError) as error:
        fail(error, 2, as_json)  # nothing was done: the request itself cannot be carried out
    except CouplerError as error:
        fail(error, 1, as_json)
    finally:
        if bar is not None:
            bar.stop()
        if coupler is not None:
            coupler.close()


def fail(error: CouplerError, code: int, as_json: bool) -> None:
    problems = list(getattr(error, "problems", None) or [error.message])
    hint = for_error(error)
    if hint and not problems[-1].endswith(hint):
        problems[-1] = f"{problems[-1]} {hint}"
    if as_json:
        sys.stdout.write(json.dumps({"error": type(error).__name__, "problems": problems}, indent=2) + "\n")
    for problem in problems:
        err.print(f"[red]error:[/red] {problem}", soft_wrap=True)
    raise Exit(code)


def finish(reports: Sequence[JobReport], as_json: bool) -> None:
    """Print the job's summary (JSON: its report); commands that run a job per mapping use ``finish_round``."""
    from coupler.entrypoints.cli.render import print_reports
    from coupler.entrypoints.schemas.jobs import JobReportOut

    if as_json:
        emit(True, JobReportOut.of(reports[0]), lambda: None)
    else:
        print_reports(out, reports)
    if any(not r.ok for r in reports):
        raise Exit(1)


def finish_round(runs: Sequence[MappingRun], as_json: bool) -> None:
    """Print the jobs of a round of mappings (JSON: the list of their reports). A mapping another run holds (busy)
    has no job: it is named on stderr, as is a failure that left no job. Exit 1 unless every mapping's job ran to
    its end with nothing failed."""
    from coupler.entrypoints.cli.render import print_reports
    from coupler.entrypoints.schemas.jobs import JobReportOut
    from coupler.services.engine.schedule import Outcome

    disabled = next((run for run in runs if run.outcome is Outcome.DISABLED), None)
    if disabled is not None:  # nothing ran: one refusal, as for any request that cannot be carried out
        fail(UsageError(with_hint(ConnectionDisabled(disabled.message))), 2, as_json)
    reports = [run.report for run in runs if run.report is not None]
    if as_json:
        emit(True, [JobReportOut.of(r) for r in reports], lambda: None)
    elif reports:
        print_reports(out, reports)
    for run in runs:
        if run.report is None and run.message:
            busy = MappingBusy(run.message, mapping=run.mapping) if run.outcome is Outcome.BUSY else None
            err.print(f"[red]error:[/red] {with_hint(busy) if busy else run.message}", soft_wrap=True)
    if any(run.outcome is not Outcome.DONE or not run.ok for run in runs):
        raise Exit(1)

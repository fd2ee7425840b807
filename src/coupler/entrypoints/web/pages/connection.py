"""The Connection page, after Business Central's connection setup page and the connection pages of Airbyte and
Fivetran: both systems' health, the *Enabled* switch, and per table mapping its last run, next run, schedule and a
short history of its recent runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from coupler.config.edit import set_enabled
from coupler.domain.errors import ConnectorError, CouplerError
from coupler.domain.jobs import Job
from coupler.domain.schedules import QueueSettings, ScheduleState
from coupler.domain.timeutil import utcnow
from coupler.entrypoints.schemas.jobs import summarize
from coupler.entrypoints.web.deps import Connection, WebState, get_state
from coupler.entrypoints.web.pages.common import Notice, kind_title, redirect, render
from coupler.services.engine.recorder import JobReport
from coupler.services.views.schedules import HISTORY, MappingActivity, RunOutcome, activity, run_outcome
from coupler.services.wording import plural

__all__ = ["Health", "MappingRow", "Run", "interval_words", "router", "run_summary"]

router = APIRouter(include_in_schema=False)

STATE_STORE = "coupler's state store"
"""What the page calls the state store (couplings, watermarks and the synchronization log)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    """One system (or the state store) under its configured name: whether it answers, and why not."""

    name: str
    ok: bool
    reason: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    """A block of the history bar: the job, how it ended, and the title that says so."""

    job: Job
    outcome: RunOutcome
    summary: str
    """What it was (when not a scheduled synchronization) and what it did: "Synchronize now: 1 synchronized"."""

    @property
    def title(self) -> str:
        """When the job started and what it did: "Mon 7 Dec 21:40 UTC: 3 synchronized, 1 failed"."""
        started = self.job.started_at
        joint = ": " if self.job.kind.value == "incremental" else ", "
        return f"{started:%a} {started.day} {started:%b %H:%M} UTC{joint}{self.summary}"


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingRow:
    """A table mapping on the page: its activity, the history bar, and its next run and schedule in words."""

    activity: MappingActivity
    runs: tuple[Run, ...]
    next_run: str
    next_at: datetime | None
    schedule: str
    backed_off: bool


def interval_words(interval: timedelta) -> str:
    """An interval as people say it: "30 minutes", "2 hours", "1 hour 30 minutes", "1 day", "45 seconds"."""
    seconds = int(interval.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            parts.append(plural(seconds // size, unit))
            seconds %= size
    return " ".join(parts) or "0 seconds"


def run_summary(job: Job, outcome: RunOutcome | None = None) -> str:
    """What the job was (when not a scheduled synchronization) and what it did: "Synchronize now: 3 synchronized,
    1 failed", "stopped before the end (nothing to do)"."""
    outcome = outcome or run_outcome(job)
    done = summarize([JobReport(job=job)])
    if outcome is RunOutcome.RUNNING:
        done = f"running ({done} so far)"
    elif outcome is RunOutcome.FAILED and not job.counters.failed:
        done = f"stopped before the end ({done})"
    return done if job.kind.value == "incremental" else f"{kind_title(job)}: {done}"


def _next_run(state: ScheduleState | None, queue: QueueSettings | None, paused: bool, now: datetime) -> str:
    if paused:
        return "Paused"
    if state is None or not state.schedule.enabled or queue is None:
        return "Not scheduled"
    if state.running:
        return "Running now"
    if state.last_run is None or state.due(now):
        return "Due now"
    return ""  # the time itself (``next_at``)


def _schedule(state: ScheduleState | None, queue: QueueSettings | None) -> str:
    if queue is None:
        return "Runs when started"
    if not queue.scheduled:
        return "Runs when started (the job queue keeps no schedules)"
    if state is None or not state.schedule.enabled:
        return "Not scheduled: runs when started"
    schedule = state.schedule
    text = f"Every {interval_words(schedule.every)}"
    if schedule.idle_after and schedule.idle_every is not None:
        idle = plural(schedule.idle_after, "run")
        text += f"; every {interval_words(schedule.idle_every)} after {idle} in a row that find nothing"
    return text


def _row(found: MappingActivity, queue: QueueSettings | None, paused: bool, now: datetime) -> MappingRow:
    runs = tuple(Run(job=job, outcome=outcome, summary=run_summary(job, outcome)) for job, outcome in found.history)
    state = found.state
    next_run = _next_run(state, queue, paused, now)
    return MappingRow(
        activity=found,
        runs=runs,
        next_run=next_run,
        next_at=state.next_run if state is not None and not next_run else None,
        schedule=_schedule(state, queue),
        backed_off=state is not None and state.idle,
    )


def _health(request: Request, state: WebState, connection: Connection) -> tuple[list[Health], list[str]]:
    """Each system and the state store, from the app's connection check, and the problems it found beyond them.
    While coupler cannot be opened, from the readiness probe's ping of each part on its own (the reason from the
    problem that names the part, as opening it said). Nothing is checked when the configuration cannot be read."""
    problems = list(connection.problems)
    if connection.systems:
        found = []
        for status in connection.systems:
            name = STATE_STORE if status.role == "state" else status.name
            found.append(Health(name=name, ok=status.ok, reason=None if status.ok else status.message))
            if not status.ok and f"{status.name}: {status.message}" in problems:
                problems.remove(f"{status.name}: {status.message}")
        return found, problems
    from coupler.entrypoints.web.health import STATE_STORE as PROBED_STORE
    from coupler.entrypoints.web.health import Readiness

    readiness: Readiness = request.app.state.readiness
    checks = readiness.checks()
    if any(check.name == "configuration" for check in checks):
        return [], problems
    found = []
    for check in sorted(checks, key=lambda c: c.name == PROBED_STORE):  # the systems first, as the check lists them
        said = next((p for p in problems if p.startswith(f"{check.name}: ")), None)
        if not check.ok and said is not None:
            problems.remove(said)
        reason = None
        if not check.ok:
            reason = said.removeprefix(f"{check.name}: ") if said else (check.problem or "no answer")
        name = STATE_STORE if check.name == PROBED_STORE else check.name
        found.append(Health(name=name, ok=check.ok, reason=reason))
    return found, problems


@router.get("/connection", response_class=HTMLResponse)
def connection_page(request: Request) -> Response:
    state = get_state(request)
    connection = state.connection()
    enabled = state.enabled()
    queue = state.queue()
    notices = []
    switched = request.query_params.get("switched")
    if switched == "off":
        notices.append(Notice(kind="warning", text="The connection is disabled: synchronization is paused."))
    elif switched == "on":
        notices.append(Notice(kind="ok", text="The connection is enabled: synchronization runs again."))
    rows: list[MappingRow] = []
    try:
        coupler = state.coupler
        schedule_of = queue.schedule if queue is not None and queue.scheduled else None
        now = utcnow()
        rows = [_row(found, queue, not enabled, now) for found in activity(coupler.systems, schedule_of)]
    except ConnectorError:  # coupler cannot be opened: the banner and the systems' health say why
        rows = []
    except CouplerError as error:
        notices.append(Notice(kind="error", text=error.message))
    health, problems = _health(request, state, connection)
    context = {
        "nav": "connection",
        "enabled": enabled,
        "health": health,
        "problems": problems,
        "history": HISTORY,
        "rows": rows,
        "queue": queue,
        "outcomes": list(RunOutcome),
    }
    return render(request, "connection.html", context, notices=notices)


@router.post("/connection/enabled")
def switch(request: Request, enabled: Annotated[bool, Form()]) -> Response:
    """Switch the connection on or off in the configuration file (its comments kept, the old file as a backup)."""
    set_enabled(get_state(request).config_file(), enabled)
    return redirect("/connection", switched="on" if enabled else "off")

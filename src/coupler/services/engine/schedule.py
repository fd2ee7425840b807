"""Scheduled synchronization: rounds of incremental jobs over every mapping, at an interval, until stopped.

``run_once`` is the unit of work: one round, every mapping (or those named) in dependency order, one incremental
job each. It is a plain function of the connected systems, so a job library can run it as a task as well as the
``Scheduler`` loop here. A mapping another run is synchronizing is reported as busy and left for the next round; a
mapping whose system fails is reported and the others still run. A stop request (a ``threading.Event``) is honoured
between pages: the page in hand is finished and saved, the job is closed as stopped, and the next run continues
from the watermark.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from coupler.domain.errors import ConnectionDisabled, CouplerError, MappingBusy, RunStopped, UsageError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import TableMapping
from coupler.services.context import Systems
from coupler.services.engine.recorder import JobReport
from coupler.services.engine.synchronize import Synchronizer

__all__ = ["MappingRun", "Outcome", "Round", "Scheduler", "run_once"]


class Outcome(StrEnum):
    DONE = "done"
    """The job ran to its end (its records may still have failed: see the report)."""
    BUSY = "busy"
    """Another run holds the mapping's lock; nothing was done, the next round tries again."""
    FAILED = "failed"
    """The job stopped half-way on an error (a system unreachable, a broken configuration); it is in the job log."""
    STOPPED = "stopped"
    """A stop was requested: the page in hand was finished and the job closed; the next run continues."""
    DISABLED = "disabled"
    """The connection is switched off (``enabled = false``): nothing ran; rounds go on and start again once it is on."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingRun:
    """What one mapping's turn in a round came to."""

    mapping: str
    outcome: Outcome
    report: JobReport | None = None
    """The job: finished (DONE), or closed half-way (FAILED, STOPPED); None when busy."""
    message: str | None = None
    """Why it was busy, failed or stopped."""

    @property
    def ok(self) -> bool:
        """Done with nothing failed, or busy (another run is doing the work)."""
        if self.outcome is Outcome.DONE:
            return self.report is not None and self.report.ok
        return self.outcome in (Outcome.BUSY, Outcome.DISABLED)


@dataclass(frozen=True, kw_only=True, slots=True)
class Round:
    """One round of a schedule: every mapping's turn, in dependency order."""

    number: int
    started_at: datetime
    finished_at: datetime
    runs: tuple[MappingRun, ...]
    stopped: bool
    """A stop was requested before the round ended (mappings not yet started were left out)."""

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)


def run_once(
    systems: Systems, names: Sequence[str] | None = None, *, stop: threading.Event | None = None
) -> list[MappingRun]:
    """One round: an incremental job for each mapping (all by default) in dependency order.

    ``stop`` (default ``systems.stop``) ends the round early: the job in hand finishes its page and closes as
    stopped, and the mappings after it are not started."""
    if stop is not None:
        systems = replace(systems, stop=stop)
    synchronizer = Synchronizer(systems)
    runs: list[MappingRun] = []
    mappings = systems.in_dependency_order(names)
    try:
        systems.require_enabled()
    except ConnectionDisabled as error:
        return [MappingRun(mapping=m.name, outcome=Outcome.DISABLED, message=error.message) for m in mappings]
    for mapping in mappings:
        if _stopping(systems):
            break
        runs.append(_run_mapping(systems, synchronizer, mapping))
    return runs


def _run_mapping(systems: Systems, synchronizer: Synchronizer, mapping: TableMapping) -> MappingRun:
    since = systems.clock()
    try:
        report = synchronizer.run_mapping(mapping, kind=JobKind.INCREMENTAL)
    except MappingBusy as error:
        return MappingRun(mapping=mapping.name, outcome=Outcome.BUSY, message=error.message)
    except CouplerError as error:  # the job is closed in the log with this message; the next mapping still runs
        outcome = Outcome.STOPPED if isinstance(error, RunStopped) else Outcome.FAILED
        closed = _closed_job(systems, mapping.name, since)
        return MappingRun(mapping=mapping.name, outcome=outcome, report=closed, message=error.message)
    return MappingRun(mapping=mapping.name, outcome=Outcome.DONE, report=report)


def _closed_job(systems: Systems, mapping: str, since: datetime) -> JobReport | None:
    """The job a run that stopped half-way closed in the log: the first incremental job of the mapping started
    since ``since`` (the mapping's lock kept any other from running beside it)."""
    try:  # the failure may be the state store itself: then there is no job to show
        jobs = [
            job
            for job in systems.store.jobs.recent(limit=10, mapping=mapping)
            if job.kind is JobKind.INCREMENTAL and job.started_at >= since and job.finished_at is not None
        ]
        if not jobs:
            return None
        job = min(jobs, key=lambda j: j.started_at)
        return JobReport(job=job, errors=tuple(reversed(systems.store.jobs.errors(job_id=job.id, limit=500))))
    except CouplerError:
        return None


def _stopping(systems: Systems) -> bool:
    return systems.stop is not None and systems.stop.is_set()


@dataclass(kw_only=True)
class Scheduler:
    """Runs rounds at an interval until stopped: a round, then a wait of ``every`` (cut short by a stop)."""

    systems: Systems
    names: Sequence[str] | None = None
    on_round: Callable[[Round], None] | None = None
    """Called with each round as it ends (to show or log it)."""

    def run(self, every: timedelta, *, stop: threading.Event, rounds: int | None = None) -> int:
        """Run until ``stop`` is set (or ``rounds`` rounds have run); returns how many rounds ran."""
        if every <= timedelta(0):
            raise UsageError("the interval between rounds must be longer than zero.")
        if rounds is not None and rounds < 1:
            raise UsageError("the number of rounds must be at least 1.")
        self.systems.in_dependency_order(self.names)  # unknown mapping names fail before the first round
        done = 0
        while not stop.is_set():
            done += 1
            finished = self.run_round(done, stop=stop)
            if self.on_round is not None:
                self.on_round(finished)
            if rounds is not None and done >= rounds:
                break
            stop.wait(every.total_seconds())
        return done

    def run_round(self, number: int, *, stop: threading.Event) -> Round:
        started = self.systems.clock()
        runs = run_once(self.systems, self.names, stop=stop)
        return Round(
            number=number,
            started_at=started,
            finished_at=self.systems.clock(),
            runs=tuple(runs),
            stopped=stop.is_set(),
        )

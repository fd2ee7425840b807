"""Recording a job as it runs: counters, per-record errors, progress saved with each batch."""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import Token
from dataclasses import dataclass, field, replace
from datetime import datetime

from coupler.domain.errors import CouplerError
from coupler.domain.jobs import Counters, Job, JobError, JobKind, Written
from coupler.domain.state import NO_CHANGES, Lock, StateChanges
from coupler.domain.timeutil import format_iso
from coupler.ports.store import StateStore
from coupler.ports.telemetry import JobOutcome
from coupler.services.context import Systems
from coupler.services.lease import LOCK_TTL, Lease
from coupler.services.log_context import LogContext, bind, unbind

__all__ = ["LOCK_TTL", "WRITTEN_KEPT", "JobRecorder", "JobReport", "close_dead_job"]

WRITTEN_KEPT = 10
"""How many written records a job keeps, with their changed fields, for the notice after an action."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class JobReport:
    """A finished job and the errors it recorded (the first few hundred)."""

    job: Job
    errors: tuple[JobError, ...] = ()
    written: tuple[Written, ...] = ()
    """The first records the job wrote, with their changes (``WRITTEN_KEPT``; kept in memory, not in the log)."""
    decoupled: tuple[tuple[str, str], ...] = ()
    """The first (local key, integration key) pairs the job decoupled (``WRITTEN_KEPT``), for its notice to name."""

    @property
    def ok(self) -> bool:
        """Nothing failed, no conflict is parked, every record to match was matched."""
        counters = self.job.counters
        return counters.failed == 0 and counters.conflicts == 0 and counters.unmatched == 0


@dataclass(kw_only=True)
class JobRecorder:
    systems: Systems
    job: Job
    lease: Lease
    counters: Counters = field(default_factory=Counters)
    errors: list[JobError] = field(default_factory=list)
    pending_errors: list[JobError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)
    decoupled: list[tuple[str, str]] = field(default_factory=list)
    _saved: Counters = field(default_factory=Counters, repr=False)
    """The counters as last saved with the job."""
    _log_token: Token[LogContext] | None = field(default=None, repr=False)
    _outcome: JobOutcome | None = field(default=None, repr=False)

    @classmethod
    def start(cls, systems: Systems, *, mapping: str, kind: JobKind, direction: str) -> JobRecorder:
        """Start a job on ``mapping``, holding the mapping's lock until it finishes: two jobs never write the same
        mapping at once (the second is refused with MappingBusy, naming the job that holds it). The job of a run
        that died holding the lock, found open, is closed as stopped. A disabled connection starts none
        (ConnectionDisabled)."""
        systems.require_enabled()
        job = Job(id=str(uuid.uuid4()), mapping=mapping, kind=kind, direction=direction, started_at=systems.clock())
        lease = Lease(systems.store.cursors, mapping=mapping, owner=job.id, clock=systems.clock, ttl=systems.lock_ttl)
        dead = lease.take()
        try:
            if dead is not None:
                reason = f"its lock expired at {format_iso(dead.until)}"
                close_dead_job(systems.store, dead, at=dead.until, reason=reason)
            systems.store.jobs.add(job)
        except BaseException:
            lease.release()  # nothing was done: free the mapping for the next run
            raise
        recorder = cls(systems=systems, job=job, lease=lease)
        weakref.finalize(recorder, lease.stop_renewing)  # a job dropped unfinished lets its lock expire
        recorder._log_token = bind(job=job.id, mapping=mapping, connection=systems.connection)
        log.info("%s job started on %s (%s)", kind.value, mapping, direction)
        systems.telemetry.job_started(job)
        return recorder

    @property
    def store(self) -> StateStore:
        return self.systems.store

    def error(
        self,
        *,
        message: str,
        local_key: str | None = None,
        integration_key: str | None = None,
        detail: str | None = None,
    ) -> None:
        error = JobError(
            job_id=self.job.id,
            mapping=self.job.mapping,
            local_key=local_key,
            integration_key=integration_key,
            message=message,
            detail=detail,
            at=self.systems.clock(),
        )
        self.pending_errors.append(error)
        log.warning("%s: %s", local_key or integration_key or "a record", message)
        if len(self.errors) < 500:
            self.errors.append(error)

    def wrote(self, record: Written) -> None:
        """A record the job wrote, kept for the notice while fewer than ``WRITTEN_KEPT`` are."""
        if len(self.written) < WRITTEN_KEPT:
            self.written.append(record)

    def uncoupled(self, pairs: Sequence[tuple[str, str]]) -> None:
        """(local key, integration key) pairs the job decoupled, kept for the notice while fewer than
        ``WRITTEN_KEPT`` are."""
        self.decoupled.extend(pairs[: max(0, WRITTEN_KEPT - len(self.decoupled))])

    @property
    def writes_wanted(self) -> bool:
        """Whether another written record would still be kept (callers skip building it otherwise)."""
        return len(self.written) < WRITTEN_KEPT

    def notice(self, text: str) -> None:
        """Something the user should know that is not an error (e.g. a forced sync overwrote newer data)."""
        self.notices.append(text)

    def flush(self, changes: StateChanges = NO_CHANGES) -> None:
        """Save what a chunk changes (``changes``), the new errors and the job's counters in one transaction; nothing
        when there is nothing new (a page of records that were all in sync: no statement, no lock renewal)."""
        if not self.pending_errors and self.counters == self._saved and changes == NO_CHANGES:
            return
        progress = replace(self.job, counters=self.counters.copy())
        self.lease.check()  # a run that lost its lock stops before saving anything more
        self.store.save(changes, errors=self.pending_errors, job=progress)
        self.pending_errors = []
        self._saved = progress.counters
        self.systems.telemetry.job_progress(progress)

    @contextmanager
    def stopping_on_error(self) -> Iterator[None]:
        """Whatever stops the job half-way (a system gone, a bug, Ctrl-C) is written into the job before it
        propagates, so the log never shows a job that seems to be still running."""
        try:
            yield
        except BaseException as error:
            reason = error.message if isinstance(error, CouplerError) else f"{type(error).__name__}: {error}"
            with suppress(Exception):  # the original error matters more than a failed log write
                self.finish(f"Stopped before the end: {reason}", stopped=True)
            raise

    def finish(self, message: str | None = None, *, stopped: bool = False) -> JobReport:
        """End the job (``stopped``: before the end, on an error) and free its mapping."""
        text = "\n".join([*([message] if message else []), *self.notices]) or None
        self.job = self.job.finish(at=self.systems.clock(), counters=self.counters, message=text)
        saved = False
        try:
            self.store.save(errors=self.pending_errors, job=self.job)
            self.pending_errors = []
            saved = True
        finally:  # even when the job cannot be recorded, the mapping is free for the next run
            self.lease.release()
            self._finished(JobOutcome.of(self.job, stopped=stopped or not saved))
        return JobReport(
            job=self.job, errors=tuple(self.errors), written=tuple(self.written), decoupled=tuple(self.decoupled)
        )

    def _finished(self, outcome: JobOutcome) -> None:
        """Tell the telemetry and the log how the job ended (once); its later log lines no longer carry it."""
        if self._outcome is not None:
            return
        self._outcome = outcome
        counted = {name: n for name, n in self.job.counters.as_dict().items() if n}
        tally = ", ".join(f"{name} {n}" for name, n in counted.items()) or "nothing to do"
        level = logging.INFO if outcome is JobOutcome.OK else logging.WARNING
        log.log(level, "%s job %s: %s%s", self.job.kind.value, outcome.value, tally, _first(self.job.message))
        self.systems.telemetry.job_finished(self.job, outcome)
        if self._log_token is not None:
            unbind(self._log_token)
            self._log_token = None


def _first(message: str | None) -> str:
    return f" ({message.splitlines()[0]})" if message else ""


def close_dead_job(store: StateStore, lock: Lock, *, at: datetime, reason: str) -> Job | None:
    """Close the job of a run that died holding ``lock`` (its process ended: killed, or its machine lost), if the
    job is still open: as stopped ``at`` (when its lock expired, or was released), with the counters it last saved.
    Returns the job closed, or None."""
    job = store.jobs.get(lock.owner)
    if job is None or job.finished_at is not None:
        return None
    message = f"Stopped before the end: the process ended ({reason})."
    closed = job.finish(at=max(at, job.started_at), counters=job.counters, message=message)
    store.save(job=closed)
    return closed

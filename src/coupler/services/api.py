"""The Python API: what a script runs over one set of connected systems (``coupler.open_coupler`` opens one).

The CLI, the web app and scripts call this; it holds no business logic of its own beyond delegating to services.
The web app's page-only reads (a page of records, the record card, its dialogs) are in
``coupler.services.views.page_queries``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import TracebackType

from coupler.domain.errors import RecordError, RecordNotFound, UnknownJob, UsageError, WouldDuplicate
from coupler.domain.jobs import Job, JobError, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, PendingDeletion
from coupler.services.context import Systems
from coupler.services.engine.recorder import JobRecorder, JobReport
from coupler.services.engine.schedule import MappingRun, Round, Scheduler, run_once
from coupler.services.engine.synchronize import Synchronizer
from coupler.services.operations.attention import Attention, SkippedRecord
from coupler.services.operations.coupling import CouplingService
from coupler.services.operations.locks import LockStatus, list_locks, unlock
from coupler.services.operations.matching import Matcher, SyncAfter
from coupler.services.records import left_out, require_known, resolve_couplings
from coupler.services.views.check import CheckReport, check_systems
from coupler.services.views.queries import MappingOverview, RecordStatus, mapping_overview, record_status
from coupler.services.views.review import Advice, recommend

__all__ = ["Coupler"]


class Coupler:
    """Couple records 1:1 between the local system (the ERP) and the integration system (the CRM) and keep them
    synchronized. Mappings are named case-insensitively; records by either side's primary or display key.

    Every job-running method returns a ``JobReport``; per-record problems are counted in it, not raised. Holds
    connections: use it as a context manager, or call ``close()``."""

    def __init__(self, systems: Systems, *, origin: str = "coupler.toml") -> None:
        self.systems = systems
        self.origin = origin
        self._coupling = CouplingService(systems)
        self._sync = Synchronizer(systems)
        self._attention = Attention(systems)

    # connection --------------------------------------------------------------------------------------------
    def check(self, *, refresh: bool = False, preflight: bool = False) -> CheckReport:
        """Ping both systems and the state store, and list the mapped tables and columns that are missing. With
        ``refresh``, what coupler learnt about the systems' schemas (kept between runs) is read again first; with
        ``preflight``, each system's own preflight is added (API version, currencies, sign-in ...)."""
        return check_systems(self.systems, self.origin, refresh=refresh, preflight=preflight)

    def mappings(self) -> list[MappingOverview]:
        """The mappings in dependency order, with their coupling statistics."""
        return mapping_overview(self.systems)

    # coupling ----------------------------------------------------------------------------------------------
    def couple(self, mapping: str, local: str, integration: str, *, sync_after: Side | None = None) -> JobReport:
        """Couple two existing records; with ``sync_after``, then synchronize them, forced, from that side."""
        return self._coupling.couple(mapping, local, integration, sync_after=sync_after)

    def create(self, mapping: str, ref: str, *, source: Side = Side.LOCAL) -> JobReport:
        """Create the counterpart of the ``source`` record ``ref`` and couple the two."""
        return self._coupling.create(mapping, ref, source=source)

    def create_many(self, mapping: str, refs: Sequence[str], *, source: Side = Side.LOCAL) -> JobReport:
        """Create the counterparts of the uncoupled ``source`` records ``refs`` names and couple them (one job)."""
        return self._coupling.create_many(mapping, refs, source=source)

    def decouple(self, mapping: str, refs: Sequence[str]) -> JobReport:
        """Remove the couplings of the records named; the records stay as they are."""
        return self._coupling.decouple(mapping, refs)

    def decouple_all(self, mapping: str) -> JobReport:
        """Decouple every coupled record of the mapping (one job, batch by batch); the records stay as they are."""
        return self._coupling.decouple_all(mapping)

    def match(
        self,
        mapping: str,
        *,
        groups: Sequence[Sequence[str]] | None = None,
        create_missing: bool = False,
        sync_after: SyncAfter = None,
        refs: Sequence[str] | None = None,
    ) -> JobReport:
        """Match-based coupling of the uncoupled local records, or of those ``refs`` names (local primary or display
        keys): ``groups`` of local field names tried in order (default: the field mappings' match priorities)."""
        return Matcher(self.systems).match(
            mapping, groups=groups, create_missing=create_missing, sync_after=sync_after, refs=refs
        )

    # synchronization ---------------------------------------------------------------------------------------
    def sync(self, mapping: str, refs: Sequence[str], *, direction: Direction | None = None) -> JobReport:
        """Synchronize now: the records named (either side's primary or display key). A reference that names no
        record, or a selection with no coupled record, is refused before any job starts; records not coupled are
        left out (named in the job's message, not counted as failed)."""
        table_mapping = self.systems.mapping(mapping)
        if direction is not None:
            table_mapping.require(direction)
        resolved = resolve_couplings(self.systems, table_mapping, refs)
        require_known(self.systems, table_mapping, resolved)
        couplings = [item.coupling for item in resolved if item.coupling is not None]
        uncoupled = [item for item in resolved if item.coupling is None]
        if not couplings:  # refused before any job: nothing in the log
            raise RecordError(left_out(self.systems, table_mapping, uncoupled, "synchronize"))
        recorder = JobRecorder.start(
            self.systems,
            mapping=table_mapping.name,
            kind=JobKind.MANUAL,
            direction=direction or table_mapping.direction,
        )
        with recorder.stopping_on_error():
            self._sync.sync_couplings(table_mapping, couplings, direction=direction, recorder=recorder)
        # left out, never also counted as failed
        return recorder.finish(left_out(self.systems, table_mapping, uncoupled, "synchronize") if uncoupled else None)

    def sync_changed(
        self, mapping: str, side: Side, keys: Sequence[str] = (), *, everything: bool = False
    ) -> JobReport:
        """What a system's notification told of: its records ``keys`` of ``mapping`` changed (one targeted job over
        them), or, with ``everything`` (too many to name), an incremental run of the mapping. Raises MappingBusy when
        another run holds the mapping."""
        self.systems.require_enabled()
        table_mapping = self.systems.mapping(mapping)
        if everything or not keys:
            return self._sync.run_mapping(table_mapping, kind=JobKind.INCREMENTAL)
        return self._sync.sync_keys(table_mapping, side, keys)

    def sync_modified(self, mappings: Sequence[str] | None = None) -> list[JobReport]:
        """Incremental synchronization of the mappings (all by default) in dependency order, one job each."""
        return self._sync.sync_modified(mappings)

    def sync_full(self, mapping: str, *, force: bool = False) -> JobReport:
        """Full synchronization. A first one (nothing coupled yet) is refused while both sides hold records, because
        it would duplicate the records they share: match them first (``match``), or ``force`` it."""
        self.systems.require_enabled()  # the first reason a job cannot run
        if not force:
            advice = recommend(self.systems, mapping)
            name = advice.mapping
            interrupted = any(
                self.systems.store.cursors.intents(name, d, limit=1) for d in Direction.BIDIRECTIONAL.one_way
            )
            if advice.advice is Advice.MATCH and advice.couplings == 0 and not interrupted:
                raise WouldDuplicate(
                    f"{advice.mapping}: {advice.reason}, so a full synchronization would duplicate the records both "
                    "systems share. Couple them first with match-based coupling (then run the full synchronization "
                    "for the rest), or confirm to create every uncoupled record anyway.",
                    command=advice.command,
                )
        return self._sync.sync_full(mapping)

    # scheduled runs ----------------------------------------------------------------------------------------
    def run_once(
        self, mappings: Sequence[str] | None = None, *, stop: threading.Event | None = None
    ) -> list[MappingRun]:
        """One round of incremental jobs over the mappings (all by default) in dependency order; a busy or failing
        mapping is reported and the others still run. ``stop`` ends the round after the page in hand."""
        return run_once(self.systems, mappings, stop=stop)

    def schedule(
        self,
        every: timedelta,
        *,
        stop: threading.Event,
        mappings: Sequence[str] | None = None,
        rounds: int | None = None,
        on_round: Callable[[Round], None] | None = None,
    ) -> int:
        """Run rounds every ``every`` until ``stop`` is set (or ``rounds`` have run); ``on_round`` receives each
        round as it ends. Returns how many rounds ran."""
        scheduler = Scheduler(systems=self.systems, names=mappings, on_round=on_round)
        return scheduler.run(every, stop=stop, rounds=rounds)

    # reading -----------------------------------------------------------------------------------------------
    def status(self, mapping: str, ref: str) -> RecordStatus:
        """The coupling of the record named and both records (either may be gone), with its recent errors."""
        status = record_status(self.systems, mapping, ref)
        if status.coupling is None and status.local is None and status.integration is None:
            raise RecordNotFound(f"{status.mapping}: {ref!r} names no record in {self.systems.either}.")
        return status

    def locks(self) -> list[LockStatus]:
        """The mapping locks on record: the job and process holding each, until when, and whether it is gone."""
        return list_locks(self.systems)

    def unlock(self, mapping: str, *, force: bool = False) -> LockStatus | None:
        """Release the lock of a run that is gone (closing its job as stopped); refused (MappingBusy) while the lock
        is live and its owner may be running, unless ``force``. None when the mapping was not locked."""
        return unlock(self.systems, mapping, force=force)

    def jobs(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        """The job log, most recent first."""
        name = self.systems.mapping(mapping).name if mapping else None
        return self.systems.store.jobs.recent(limit=limit, mapping=name)

    def errors(self, job_id: str | None = None, *, mapping: str | None = None, limit: int = 100) -> list[JobError]:
        """Per-record errors (of one job, or of every job), most recent first."""
        if job_id is not None and self.systems.store.jobs.get(job_id) is None:
            raise UnknownJob(f"No job has the id {job_id!r}.")
        name = self.systems.mapping(mapping).name if mapping else None
        return self.systems.store.jobs.errors(job_id=job_id, mapping=name, limit=limit)

    def delete_errors(self, *, older_than_days: int, mapping: str | None = None) -> int:
        """Delete the job errors recorded more than ``older_than_days`` days ago; how many were deleted."""
        if older_than_days < 0:
            raise UsageError(f"older_than_days must be 0 or more, not {older_than_days}.")
        name = self.systems.mapping(mapping).name if mapping else None
        before = self.systems.clock() - timedelta(days=older_than_days)
        return self.systems.store.jobs.delete_errors(before=before, mapping=name)

    # what needs attention ----------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, limit: int = 100) -> list[Conflict]:
        """Parked conflicts, with both values and the last synchronized value of each conflicting field."""
        return self._attention.conflicts(mapping, limit=limit)

    def resolve(self, mapping: str, ref: str, *, use: Side, fields: Sequence[str] = ()) -> JobReport:
        """Settle a parked conflict: ``use``'s values win, for every conflicting field or those named."""
        return self._attention.resolve(mapping, ref, use=use, fields=fields)

    def skipped(self, mapping: str | None = None) -> list[SkippedRecord]:
        """Skipped records (of every mapping by default), with both sides and the error."""
        return self._attention.skipped(mapping)

    def retry(self, mapping: str, refs: Sequence[str] = (), *, everything: bool = False) -> JobReport:
        """Take skipped records (or all of the mapping's) back into synchronization."""
        return self._attention.retry(mapping, refs, everything=everything)

    def restore(self, mapping: str, refs: Sequence[str]) -> JobReport:
        """Re-create the deleted side of coupled records and couple them again."""
        return self._attention.restore(mapping, refs)

    def deletions(self, mapping: str | None = None) -> list[PendingDeletion]:
        """Deletions waiting for approval (of every mapping by default)."""
        return self._attention.deletions(mapping)

    def approve(self, mapping: str, refs: Sequence[str] = (), *, everything: bool = False) -> JobReport:
        """Carry out pending deletions: delete the survivors and their couplings."""
        return self._attention.approve(mapping, refs, everything=everything)

    # lifetime ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the connections to both systems and the state store (the context manager calls it)."""
        self.systems.local.close()
        self.systems.integration.close()
        self.systems.store.close()

    def __enter__(self) -> Coupler:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

"""The state store in dictionaries: the fake that services' tests and ``--memory`` runs use. Same contract as the
SQL store (the same test suite runs against both)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from coupler.adapters.store.memory.state import MemoryState, StateWrites
from coupler.adapters.store.taken_keys import TakenKey, already_coupled, duplicates_within
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import (
    NO_CHANGES,
    Conflict,
    ConflictKey,
    CreateIntent,
    Lock,
    PendingDeletion,
    RecordFailure,
    StateChanges,
)
from coupler.domain.timeutil import to_utc
from coupler.ports.store import CouplingStats, StateStore

__all__ = ["InMemoryStateStore"]


class _Couplings:
    """The couplings of one mapping, by local key, with the integration key index."""

    __slots__ = ("by_integration", "by_local")

    def __init__(self) -> None:
        self.by_local: dict[str, Coupling] = {}
        self.by_integration: dict[str, str] = {}

    def put(self, coupling: Coupling) -> None:
        coupling = _utc_coupling(coupling)
        old = self.by_local.get(coupling.local_key)
        if old is not None:
            del self.by_integration[old.integration_key]
        self.by_local[coupling.local_key] = coupling
        self.by_integration[coupling.integration_key] = coupling.local_key


class InMemoryStateStore(StateStore):
    """Every write validates first and then applies, under one lock: all of it or none of it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._mappings: dict[str, _Couplings] = {}
        self._watermarks: dict[tuple[str, Side], ChangeCursor | None] = {}
        self._cursors: dict[tuple[str, Side], str] = {}
        self._jobs: dict[str, Job] = {}
        self._errors: list[JobError] = []
        self._state = MemoryState()

    def _of(self, mapping: str) -> _Couplings:
        return self._mappings.setdefault(mapping, _Couplings())

    # couplings ---------------------------------------------------------------------------------------------
    def couplings(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return {}
            found: dict[str, Coupling] = {}
            for key in keys:
                local_key = key if Side(side) is Side.LOCAL else state.by_integration.get(key)
                coupling = state.by_local.get(local_key) if local_key is not None else None
                if coupling is not None:
                    found[key] = coupling
            return found

    def failed_couplings(self, mapping: str, direction: Direction, *, after: str | None, limit: int) -> list[Coupling]:
        directions = Direction(direction).one_way

        def failed(c: Coupling) -> bool:
            look_again = (SyncResult.FAILURE, SyncResult.PENDING)
            return not c.skipped and any(c.result(d) in look_again for d in directions)

        return self._page(mapping, failed, after, limit)

    def list_couplings(
        self, mapping: str, *, after: str | None = None, limit: int = 1000, skipped: bool | None = None
    ) -> list[Coupling]:
        return self._page(mapping, lambda c: skipped is None or c.skipped is skipped, after, limit)

    def _page(self, mapping: str, keep: Callable[[Coupling], bool], after: str | None, limit: int) -> list[Coupling]:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return []
            keys = sorted(k for k in state.by_local if after is None or k > after)
            page: list[Coupling] = []
            for key in keys:
                if len(page) >= limit:
                    break
                coupling = state.by_local[key]
                if keep(coupling):
                    page.append(coupling)
            return page

    def add_couplings(self, couplings: Sequence[Coupling]) -> None:
        with self._lock:
            self._check_new(couplings)
            for c in couplings:
                self._of(c.mapping).put(c)

    def _check_new(self, couplings: Sequence[Coupling]) -> None:
        """AlreadyCoupled, naming the keys, if any key of these new couplings is taken."""
        if couplings:
            taken = duplicates_within(couplings)
            for c in couplings:
                state = self._mappings.get(c.mapping)
                if state is None:
                    continue
                if c.local_key in state.by_local:
                    taken.append((c.mapping, Side.LOCAL, c.local_key))
                if c.integration_key in state.by_integration:
                    taken.append((c.mapping, Side.INTEGRATION, c.integration_key))
            if taken:
                raise already_coupled(taken)

    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        with self._lock:
            self._check_new(changes.new_couplings)
            self._check_save(changes.couplings, errors, job)
            writes = StateWrites.of(changes)
            for c in changes.new_couplings:
                self._of(c.mapping).put(c)
            for done in changes.done_intents:
                self._state.drop_intents(done.mapping, done.direction, [done.source_key])
            self._state.write(writes)
            if job is not None:
                self._jobs[job.id] = _snapshot(job)
            for c in changes.couplings:
                state = self._mappings.get(c.mapping)
                if state is not None and c.local_key in state.by_local:
                    state.put(c)
            next_id = (self._errors[-1].id or 0) + 1 if self._errors else 1  # ids stay unique after deletions
            self._errors.extend(replace(e, id=next_id + i, at=to_utc(e.at)) for i, e in enumerate(errors))

    def _check_save(self, couplings: Sequence[Coupling], errors: Sequence[JobError], job: Job | None) -> None:
        """Refuse what the database refuses: updates applied one by one, none may take another's integration
        key; errors must belong to a known job."""
        clashes: list[TakenKey] = []
        owners: dict[tuple[str, str], str | None] = {}  # (mapping, integration key) -> local key, as updated
        current: dict[tuple[str, str], str] = {}  # (mapping, local key) -> its integration key, as updated
        for c in couplings:
            state = self._mappings.get(c.mapping)
            stored = state.by_local.get(c.local_key) if state is not None else None
            if state is None or stored is None:
                continue  # gone: nothing to update
            taken = (c.mapping, c.integration_key)
            owner = owners[taken] if taken in owners else state.by_integration.get(c.integration_key)
            if owner is not None and owner != c.local_key:
                clashes.append((c.mapping, Side.INTEGRATION, c.integration_key))
                continue
            owners[(c.mapping, current.get((c.mapping, c.local_key), stored.integration_key))] = None
            owners[taken] = c.local_key
            current[(c.mapping, c.local_key)] = c.integration_key
        if clashes:
            raise already_coupled(clashes)
        unknown = {e.job_id for e in errors} - self._jobs.keys() - {job.id if job else ""}
        if unknown:
            raise ValueError(f"job errors refer to unknown jobs: {', '.join(sorted(unknown))}")

    def remove_couplings(self, mapping: str, local_keys: Sequence[str]) -> int:
        with self._lock:
            state = self._mappings.get(mapping)
            if state is None:
                return 0
            removed = 0
            for key in dict.fromkeys(local_keys):
                coupling = state.by_local.pop(key, None)
                if coupling is not None:
                    del state.by_integration[coupling.integration_key]
                    removed += 1
            settled = tuple(ConflictKey(mapping=mapping, local_key=key) for key in local_keys)
            self._state.write(StateWrites.of(StateChanges(settled=settled)))  # a parked conflict goes with its coupling
            return removed

    def stats(self, mapping: str) -> CouplingStats:
        """Failed counts couplings whose last result in either direction is a failure, skipped ones included."""
        with self._lock:
            state = self._mappings.get(mapping)
            values = list(state.by_local.values()) if state is not None else []
            failure = SyncResult.FAILURE
            skipped_creations = self._state.list_record_failures(
                mapping, side=None, skipped=True, after=None, limit=1_000_000
            )
            return CouplingStats(
                couplings=len(values),
                failed=sum(1 for c in values if failure in (c.to_integration_result, c.from_integration_result)),
                skipped=sum(1 for c in values if c.skipped) + len(skipped_creations),
                errors=sum(1 for e in self._errors if e.mapping == mapping),
                conflicts=len(self._state.conflicts(mapping, after=None, limit=1_000_000)),
                pending_deletions=len(self._state.pending_deletions(mapping, limit=1_000_000)),
            )

    # parked conflicts --------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, after: str | None = None, limit: int = 100) -> list[Conflict]:
        with self._lock:
            return self._state.conflicts(mapping, after=after, limit=limit)

    def conflict(self, mapping: str, local_key: str) -> Conflict | None:
        with self._lock:
            return self._state.conflict(mapping, local_key)

    # failures of uncoupled records -------------------------------------------------------------------------
    def record_failures(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, RecordFailure]:
        with self._lock:
            return self._state.record_failures(mapping, side, keys)

    def list_record_failures(
        self,
        mapping: str | None = None,
        *,
        side: Side | None = None,
        skipped: bool | None = None,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[RecordFailure]:
        with self._lock:
            return self._state.list_record_failures(mapping, side=side, skipped=skipped, after=after, limit=limit)

    # pending deletions -------------------------------------------------------------------------------------
    def pending_deletions(self, mapping: str | None = None, *, limit: int = 1000) -> list[PendingDeletion]:
        with self._lock:
            return self._state.pending_deletions(mapping, limit=limit)

    def remove_pending_deletions(self, mapping: str, side: Side, deleted_keys: Sequence[str]) -> int:
        with self._lock:
            return self._state.remove_pending_deletions(mapping, side, deleted_keys)

    # intents to create -------------------------------------------------------------------------------------
    def add_intents(self, intents: Sequence[CreateIntent]) -> None:
        with self._lock:
            self._state.add_intents(intents)

    def intents(self, mapping: str, direction: Direction, *, limit: int = 1000) -> list[CreateIntent]:
        with self._lock:
            return self._state.intents(mapping, direction, limit=limit)

    def drop_intents(self, mapping: str, direction: Direction, source_keys: Sequence[str]) -> None:
        with self._lock:
            self._state.drop_intents(mapping, direction, source_keys)

    # locks -------------------------------------------------------------------------------------------------
    def acquire_lock(
        self, name: str, owner: str, *, until: datetime, now: datetime, host: str | None = None, pid: int | None = None
    ) -> bool:
        with self._lock:
            return self._state.acquire_lock(name, owner, until=until, now=now, host=host, pid=pid)

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        with self._lock:
            return self._state.renew_lock(name, owner, until=until)

    def release_lock(self, name: str, owner: str) -> None:
        with self._lock:
            self._state.release_lock(name, owner)

    def locks(self) -> list[Lock]:
        with self._lock:
            return self._state.locks()

    # watermarks --------------------------------------------------------------------------------------------
    def watermark(self, mapping: str, side: Side) -> ChangeCursor | None:
        with self._lock:
            return self._watermarks.get((mapping, Side(side)))

    def set_watermark(self, mapping: str, side: Side, cursor: ChangeCursor | None) -> None:
        with self._lock:
            at = None if cursor is None else replace(cursor, stamp=to_utc(cursor.stamp))
            self._watermarks[(mapping, Side(side))] = at

    # deleted-entries feeds -----------------------------------------------------------------------------------
    def deletions_cursor(self, mapping: str, side: Side) -> str | None:
        with self._lock:
            return self._cursors.get((mapping, Side(side)))

    def set_deletions_cursor(self, mapping: str, side: Side, cursor: str | None) -> None:
        with self._lock:
            if cursor is None:
                self._cursors.pop((mapping, Side(side)), None)
            else:
                self._cursors[(mapping, Side(side))] = cursor

    # jobs and errors ---------------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        with self._lock:
            if job.id in self._jobs:
                raise ValueError(f"a job with id {job.id!r} exists")
            self._jobs[job.id] = _snapshot(job)

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            stored = self._jobs.get(job_id)
        return None if stored is None else _snapshot(stored)

    def jobs(self, *, limit: int = 20, mapping: str | None = None) -> list[Job]:
        with self._lock:
            chosen = [j for j in self._jobs.values() if mapping is None or j.mapping == mapping]
        chosen.sort(key=lambda j: (j.started_at, j.id), reverse=True)
        return [_snapshot(j) for j in chosen[:limit]]

    def delete_errors(self, *, before: datetime, mapping: str | None = None) -> int:
        with self._lock:
            kept = [e for e in self._errors if not (e.at < before and (mapping is None or e.mapping == mapping))]
            deleted = len(self._errors) - len(kept)
            self._errors[:] = kept
            return deleted

    def errors(
        self,
        *,
        job_id: str | None = None,
        mapping: str | None = None,
        key: str | None = None,
        limit: int = 100,
    ) -> list[JobError]:
        with self._lock:
            chosen = [
                e
                for e in self._errors
                if (job_id is None or e.job_id == job_id)
                and (mapping is None or e.mapping == mapping)
                and (key is None or key in (e.local_key, e.integration_key))
            ]
        chosen.sort(key=lambda e: (e.at, e.id or 0), reverse=True)
        return chosen[:limit]


def _snapshot(job: Job) -> Job:
    """The job in UTC with its own copy of the (mutable) counters, as a database row holds them."""
    finished_at = None if job.finished_at is None else to_utc(job.finished_at)
    return replace(job, started_at=to_utc(job.started_at), finished_at=finished_at, counters=job.counters.copy())


def _utc_coupling(c: Coupling) -> Coupling:
    """The coupling with its timestamps in UTC (a copy only when one is not)."""
    stamps = (c.coupled_at, c.local_modified_on, c.integration_modified_on, c.last_synced_at)
    if all(t is None or t.tzinfo is UTC for t in stamps):
        return c
    return replace(
        c,
        coupled_at=to_utc(c.coupled_at),
        local_modified_on=None if c.local_modified_on is None else to_utc(c.local_modified_on),
        integration_modified_on=None if c.integration_modified_on is None else to_utc(c.integration_modified_on),
        last_synced_at=None if c.last_synced_at is None else to_utc(c.last_synced_at),
    )

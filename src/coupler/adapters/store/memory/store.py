"""The state store in dictionaries: the fake that services' tests and ``--memory`` runs use. Same contract as the
SQL store (the same test suite runs against both). One object per aggregate, sharing one lock."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from coupler.adapters.store.memory.attention import AttentionWrites, MemoryAttention
from coupler.adapters.store.memory.couplings import MemoryCouplings
from coupler.adapters.store.memory.cursors import MemoryCursors
from coupler.adapters.store.memory.jobs import MemoryJobs
from coupler.adapters.store.memory.metadata import MemoryMetadata
from coupler.domain.coupling import SyncResult
from coupler.domain.jobs import Job, JobError
from coupler.domain.state import NO_CHANGES, StateChanges
from coupler.ports.store import CouplingStats, StateStore

__all__ = ["InMemoryStateStore"]

_ALL = sys.maxsize


class InMemoryStateStore(StateStore):
    """Every save checks and prepares all it writes first and then applies it, under one lock: all of it or none."""

    couplings: MemoryCouplings
    attention: MemoryAttention
    jobs: MemoryJobs
    cursors: MemoryCursors
    metadata: MemoryMetadata

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.attention = MemoryAttention(self._lock)
        self.couplings = MemoryCouplings(self._lock, self.attention)
        self.jobs = MemoryJobs(self._lock)
        self.cursors = MemoryCursors(self._lock)
        self.metadata = MemoryMetadata(self._lock)

    def save(
        self, changes: StateChanges = NO_CHANGES, *, errors: Sequence[JobError] = (), job: Job | None = None
    ) -> None:
        with self._lock:
            self.couplings.check(changes)
            self.jobs.check(errors, job)
            attention = AttentionWrites.of(changes)
            self.couplings.write(changes)
            self.cursors.drop_done(changes.done_intents)
            self.attention.write(attention)
            self.jobs.write(job, errors)

    def stats(self, mapping: str) -> CouplingStats:
        """Failed counts couplings whose last result in either direction is a failure, skipped ones included."""
        with self._lock:
            couplings = self.couplings.page(mapping, limit=_ALL)
            failure = SyncResult.FAILURE
            return CouplingStats(
                couplings=len(couplings),
                failed=sum(1 for c in couplings if failure in (c.to_integration_result, c.from_integration_result)),
                skipped=sum(1 for c in couplings if c.skipped)
                + len(self.attention.failures(mapping, skipped=True, limit=_ALL)),
                errors=len(self.jobs.errors(mapping=mapping, limit=_ALL)),
                conflicts=len(self.attention.conflicts(mapping, limit=_ALL)),
                pending_deletions=len(self.attention.pending_deletions(mapping, limit=_ALL)),
            )

"""A mapping's statistics stay equal to a recount of what the store holds, whatever the writes: random sequences of
every kind of write (the unit of work's changes, couplings added and removed, approvals, errors purged), checked
after each write against a count of everything read back through the ports."""

from __future__ import annotations

import random
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta

import pytest

from coupler.domain.coupling import SyncResult
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.state import StateChanges
from coupler.ports.store import CouplingStats, StateStore

from .values import INTEGRATION, LOCAL, T0, cleared, conflict, coupling, deletion, error, failure, job, settled

MAPPINGS = ("customers", "vendors")
KEYS = [f"k{n:02d}" for n in range(24)]
RESULTS = [None, SyncResult.SUCCESS, SyncResult.FAILURE, SyncResult.PENDING, SyncResult.CONFLICT]
ALL = 100_000
WRITES = [
    *("new_couplings", "add", "update", "update", "remove", "conflicts", "failures"),
    *("deletions", "approve", "errors", "purge"),
]


def recount(store: StateStore, mapping: str) -> CouplingStats:
    couplings = store.couplings.page(mapping, limit=ALL)
    failed = [c for c in couplings if SyncResult.FAILURE in (c.to_integration_result, c.from_integration_result)]
    skipped_failures = store.attention.failures(mapping, skipped=True, limit=ALL)
    return CouplingStats(
        couplings=len(couplings),
        failed=len(failed),
        skipped=sum(c.skipped for c in couplings) + len(skipped_failures),
        errors=len(store.jobs.errors(mapping=mapping, limit=ALL)),
        conflicts=len(store.attention.conflicts(mapping, limit=ALL)),
        pending_deletions=len(store.attention.pending_deletions(mapping, limit=ALL)),
    )


class Writer:
    """Random writes of every kind the store takes."""

    def __init__(self, store: StateStore, rng: random.Random) -> None:
        self.store, self.rng, self.jobs, self.clock = store, rng, 0, T0

    def _mapping(self) -> str:
        return self.rng.choice(MAPPINGS)

    def _keys(self, most: int = 4) -> list[str]:
        return self.rng.sample(KEYS, self.rng.randint(1, most))

    def _state(self) -> dict[str, object]:
        rng = self.rng
        return {
            "to_integration_result": rng.choice(RESULTS),
            "from_integration_result": rng.choice(RESULTS),
            "skipped": rng.random() < 0.3,
        }

    def _stored(self, mapping: str) -> list[str]:
        return [c.local_key for c in self.store.couplings.page(mapping, limit=ALL)]

    def new_couplings(self) -> None:
        mapping = self._mapping()
        new = tuple(coupling(k, mapping=mapping, **self._state()) for k in self._keys())  # type: ignore[arg-type]
        with suppress(AlreadyCoupled):  # then nothing was written
            self.store.save(StateChanges(new_couplings=new))

    def add(self) -> None:
        mapping = self._mapping()
        added = [coupling(k, mapping=mapping, **self._state()) for k in self._keys()]  # type: ignore[arg-type]
        with suppress(AlreadyCoupled):
            self.store.couplings.add(added)

    def update(self) -> None:
        mapping = self._mapping()
        stored = self.store.couplings.find(mapping, LOCAL, self._keys(8))
        updated = tuple(replace(c, **self._state()) for c in stored.values())  # type: ignore[arg-type]
        gone = (coupling("gone", mapping=mapping, skipped=True),)  # left out: not stored
        self.store.save(StateChanges(couplings=updated + gone))

    def remove(self) -> None:
        self.store.couplings.remove(self._mapping(), self._keys())

    def conflicts(self) -> None:
        mapping = self._mapping()
        stored = self._stored(mapping)
        parked = tuple(conflict(k, mapping) for k in self.rng.sample(stored, min(len(stored), 3)))
        self.store.save(StateChanges(conflicts=parked, settled=tuple(settled(k, mapping) for k in self._keys(2))))

    def failures(self) -> None:
        mapping, rng = self._mapping(), self.rng
        stored = tuple(
            failure(k, rng.choice([LOCAL, INTEGRATION]), mapping, skipped=rng.random() < 0.5) for k in self._keys()
        )
        gone = tuple(cleared(k, rng.choice([LOCAL, INTEGRATION]), mapping) for k in self._keys(2))
        self.store.save(StateChanges(failures=stored, cleared=gone))

    def deletions(self) -> None:
        mapping = self._mapping()
        side = self.rng.choice([LOCAL, INTEGRATION])
        self.store.save(StateChanges(deletions=tuple(deletion(k, side, mapping) for k in self._keys())))

    def approve(self) -> None:
        self.store.attention.remove_pending_deletions(
            self._mapping(), self.rng.choice([LOCAL, INTEGRATION]), self._keys()
        )

    def errors(self) -> None:
        self.jobs += 1
        self.clock += timedelta(minutes=1)
        mapping = self._mapping()
        job_id = f"job-{self.jobs}"
        written = [error(job_id, at=self.clock, mapping=mapping) for _ in range(self.rng.randint(1, 3))]
        self.store.save(errors=written, job=job(job_id, mapping, self.clock))

    def purge(self) -> None:
        before = self.clock - timedelta(minutes=self.rng.randint(0, 5))
        self.store.jobs.delete_errors(before=before, mapping=self.rng.choice([*MAPPINGS, None]))

    def any(self) -> str:
        name = self.rng.choice(WRITES)
        getattr(self, name)()
        return name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_statistics_equal_a_recount_after_any_writes(store: StateStore, seed: int) -> None:
    writer = Writer(store, random.Random(seed))
    done = []
    for _ in range(60):
        done.append(writer.any())
        for mapping in MAPPINGS:
            assert store.stats(mapping) == recount(store, mapping), done
    assert any(store.stats(m).couplings for m in MAPPINGS)

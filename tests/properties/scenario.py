"""Operations users and schedulers perform, and the runner that performs them on a world while the model follows.

After every run the runner observes both systems and the store and keeps, per identity, the model states that
explain what it sees; it fails as soon as none does, or as soon as a structural rule breaks (a duplicate record, a
coupling that is not 1:1, a parked conflict that does not hold both current values).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coupler.domain.errors import MappingBusy
from coupler.domain.fingerprint import canonical
from coupler.domain.mapping import DeletionPolicy, Side
from coupler.domain.state import Conflict
from coupler.services.engine.recorder import LOCK_TTL, JobReport
from properties.model import (
    BIDIRECTIONAL,
    Row,
    Seen,
    State,
    after_crash,
    created,
    deleted,
    edited,
    explains,
    resolved,
    synced,
    unique,
)
from properties.world import COLUMNS, MAPPING, Crash, World

__all__ = ["CrashingSync", "Create", "Delete", "Edit", "EditBoth", "Operation", "Resolve", "Runner", "Sync"]

SIDES = (Side.LOCAL, Side.INTEGRATION)
RUN_TIME = timedelta(minutes=1)  # far more logical time than one small run takes
STEP = timedelta(seconds=10)  # between two operations: more than the overlap window, so runs are deterministic
Outcome = Callable[["State", "Seen", "Identity"], list["State"]]
LOCK_CALLS = ("store.cursors.acquire_lock", "store.cursors.release_lock")
PAIRS = {f"{COLUMNS[Side.LOCAL][f]}|{COLUMNS[Side.INTEGRATION][f]}": f for f in BIDIRECTIONAL}


@dataclass(frozen=True)
class Create:
    side: Side
    name: str | None
    city: str | None
    credit: str | None


@dataclass(frozen=True)
class Edit:
    side: Side
    pick: int
    field: str
    value: str | None


@dataclass(frozen=True)
class EditBoth:
    """Users of both systems edit the same field of a coupled pair before the next run (a conflict, unless they
    agree or one restores the last synchronized value)."""

    pick: int
    field: str
    local: str | None
    integration: str | None


@dataclass(frozen=True)
class Delete:
    side: Side
    pick: int


@dataclass(frozen=True)
class Sync:
    full: bool


@dataclass(frozen=True)
class CrashingSync:
    """A run that dies at its ``at``-th write, or ``at``-th ``call`` (e.g. "integration.insert"), before or after
    carrying it out. ``kill``: nothing at all runs after that (no job closing, no lock release), as with SIGKILL;
    otherwise the exception (no CouplerError) unwinds the run as Ctrl-C would. ``recover``: the restarted process
    runs the same synchronization at once, before users change anything."""

    full: bool
    at: int
    after: bool
    kill: bool
    recover: bool
    call: str | None = None


@dataclass(frozen=True)
class Resolve:
    pick: int
    use: Side


Operation = Create | Edit | EditBoth | Delete | Sync | CrashingSync | Resolve


@dataclass
class Identity:
    tag: str
    states: list[State]
    keys: dict[Side, str | None] = field(default_factory=lambda: dict.fromkeys(SIDES))
    live: dict[Side, bool] = field(default_factory=lambda: dict.fromkeys(SIDES, False))
    fresh_conflict: bool = False  # parked at the last run and untouched since: it may be resolved


class Runner:
    def __init__(self, world: World, policy: DeletionPolicy) -> None:
        self.world, self.policy = world, policy
        self.identities: list[Identity] = []
        self._tags = itertools.count(1)
        self.dead_lock_since: datetime | None = None  # a killed run's lock, held until it expires
        self.stats: Counter[str] = Counter()  # what an example exercised, for Hypothesis's statistics

    # operations ----------------------------------------------------------------------------------------------
    def perform(self, operations: Sequence[Operation]) -> None:
        for operation in operations:
            self.world.clock.advance(STEP)
            self.apply(operation)

    def apply(self, op: Operation) -> None:
        if isinstance(op, Create):
            self.create(op)
        elif isinstance(op, Edit):
            self.edit(op)
        elif isinstance(op, EditBoth):
            self.edit_both(op)
        elif isinstance(op, Delete):
            self.delete(op)
        elif isinstance(op, Sync):
            self.sync(full=op.full)
        elif isinstance(op, CrashingSync):
            self.crashing_sync(op)
        else:
            self.resolve(op)

    def create(self, op: Create) -> None:
        row = Row(name=op.name, city=op.city, tag=f"T{next(self._tags)}", credit=op.credit)
        identity = Identity(tag=row.tag, states=[created(op.side, row)])
        identity.keys[op.side] = self.world.insert(op.side, {f: row.get(f) for f in COLUMNS[op.side]})
        identity.live[op.side] = True
        self.identities.append(identity)

    def edit(self, op: Edit) -> None:
        identity = self._pick(op.side, op.pick)
        if identity is not None:
            self.world.update(op.side, self._key(identity, op.side), op.field, op.value)
            identity.states = unique(edited(s, op.side, op.field, op.value) for s in identity.states)
            identity.fresh_conflict = False

    def edit_both(self, op: EditBoth) -> None:
        both = [i for i in self.identities if all(i.live.values())]
        if both:
            identity = both[op.pick % len(both)]
            for side, value in ((Side.LOCAL, op.local), (Side.INTEGRATION, op.integration)):
                self.world.update(side, self._key(identity, side), op.field, value)
                identity.states = unique(edited(s, side, op.field, value) for s in identity.states)
            identity.fresh_conflict = False

    def delete(self, op: Delete) -> None:
        identity = self._pick(op.side, op.pick)
        if identity is not None:
            self.world.delete(op.side, self._key(identity, op.side))
            identity.states = unique(deleted(s, op.side) for s in identity.states)
            identity.live[op.side] = identity.fresh_conflict = False

    def sync(self, *, full: bool) -> list[JobReport]:
        reports = self._run(full=full)
        self.observe(lambda state, seen, _: synced(state, full=full, policy=self.policy), current_conflicts=True)
        return reports

    def crashing_sync(self, op: CrashingSync) -> None:
        fuse = self.world.fuse
        fuse.arm(op.at, after=op.after, kill=op.kill, only=op.call)
        try:
            self._run(full=op.full)
        except Crash:
            self.stats["killed" if op.kill else "crashed"] += 1
        else:  # the run ended before its ``at``-th write
            fuse.disarm()
            self.observe(lambda state, seen, _: synced(state, full=op.full, policy=self.policy), current_conflicts=True)
            return
        if fuse.lock_held:  # killed (or died taking or releasing it): the lock waits for its time to live
            assert op.kill or fuse.blown_at in LOCK_CALLS, f"a run stopped at {fuse.blown_at} kept the mapping's lock"
            self.dead_lock_since = self.world.clock.now
        self.world.restart()
        self.observe(lambda state, seen, _: after_crash(state, seen, full=op.full, policy=self.policy))
        for identity in self.identities:
            identity.fresh_conflict = False
        if op.recover:
            self.sync(full=op.full)

    def resolve(self, op: Resolve) -> None:
        parked = [i for i in self.identities if i.fresh_conflict]
        if not parked:
            return
        chosen = parked[op.pick % len(parked)]
        report = self.world.coupler.resolve(MAPPING, self._key(chosen, Side.LOCAL), use=op.use)
        assert report.ok, report.errors
        self.stats["resolved"] += 1

        def outcome(state: State, seen: Seen, identity: Identity) -> list[State]:
            return resolved(state, op.use) if identity is chosen else [state]

        self.observe(outcome, current_conflicts=False)

    # the quiet end -------------------------------------------------------------------------------------------
    def settle(self) -> None:
        """Synchronize until a run writes nothing (three runs at most), check what must hold, and check that one
        more run writes nothing either."""
        for _ in range(3):
            self.world.clock.advance(STEP)
            if written(self.sync(full=False)) == 0:
                break
        else:
            raise AssertionError("three runs after the last change still wrote something")
        seen = self._seen(current_conflicts=True)
        for identity in self.identities:
            now = seen[identity.tag]
            both = now.local is not None and now.integration is not None
            self.stats["parked at the end"] += bool(now.parked)
            self.stats["coupled pairs at the end"] += now.coupled and both
            self.stats["survivors of a deletion at the end"] += (now.local is None) != (now.integration is None)
            if now.coupled and now.local is not None and now.integration is not None and not now.parked:
                assert now.local.bidirectional() == now.integration.bidirectional(), (
                    f"{identity.tag} is coupled and not parked but its records disagree: {now.local} {now.integration}"
                )
        self.world.clock.advance(STEP)
        reports = self.sync(full=False)
        assert written(reports) == 0, f"a run after a quiet one wrote: {[r.job.counters for r in reports]}"

    # running and observing -----------------------------------------------------------------------------------
    def _run(self, *, full: bool) -> list[JobReport]:
        coupler = self.world.coupler
        since = self.dead_lock_since
        try:
            reports = [coupler.sync_full(MAPPING, force=True)] if full else coupler.sync_modified()
        except MappingBusy:
            assert since is not None, "the mapping is busy but no run holds its lock"
            assert self.world.clock.now <= since + LOCK_TTL, "a dead run's lock outlived its time to live"
            self.stats["waited for a dead run's lock"] += 1
            self.world.clock.advance(LOCK_TTL)
            reports = [coupler.sync_full(MAPPING, force=True)] if full else coupler.sync_modified()
        else:
            assert since is None or self.world.clock.now >= since + LOCK_TTL - RUN_TIME, "a dead run's lock was taken"
        self.dead_lock_since = None
        return reports

    def observe(self, outcome: Outcome, *, current_conflicts: bool = False) -> None:
        """Keep the states that explain what is seen now, after ``outcome`` (of one run) has happened."""
        seen = self._seen(current_conflicts=current_conflicts)
        for identity in self.identities:
            now = seen[identity.tag]
            outcomes = unique(o for s in identity.states for o in outcome(s, now, identity))
            kept = [o for o in outcomes if explains(o, now)]
            if not kept:
                raise AssertionError(
                    f"{identity.tag}: coupler did what the rules do not allow.\n  before:  {identity.states}\n"
                    f"  allowed: {outcomes}\n  seen:    {now}"
                )
            identity.states = kept
            self.stats["several hidden states explained a crash"] += len(kept) > 1
            identity.fresh_conflict = bool(now.parked) and all(identity.live.values()) and current_conflicts
            self.stats["parked"] += bool(now.parked)

    def _seen(self, *, current_conflicts: bool) -> dict[str, Seen]:
        records = {side: self._records(side) for side in SIDES}
        store = self.world.store
        couplings = store.couplings.page(MAPPING, limit=100_000)
        by_local = {c.local_key: c for c in couplings}
        by_integration = {c.integration_key: c for c in couplings}
        assert len(by_local) == len(by_integration) == len(couplings), f"couplings are not 1:1: {couplings}"
        conflicts = {c.local_key: c for c in store.attention.conflicts(MAPPING, limit=100_000)}
        orphans = set(conflicts) - set(by_local)
        assert not orphans, f"parked conflicts without a coupling: {[conflicts[k] for k in orphans]}"
        seen: dict[str, Seen] = {}
        known: set[tuple[Side, str]] = set()
        for identity in self.identities:
            rows: dict[Side, Row | None] = {}
            for side in SIDES:
                key, rows[side] = records[side].pop(identity.tag, (None, None))
                identity.live[side] = key is not None
                identity.keys[side] = key or identity.keys[side]
                if identity.keys[side] is not None:
                    known.add((side, identity.keys[side] or ""))
            local_key, integration_key = identity.keys[Side.LOCAL], identity.keys[Side.INTEGRATION]
            coupling = by_local.get(local_key or "") or by_integration.get(integration_key or "")
            if coupling is not None:
                assert (coupling.local_key, coupling.integration_key) == (local_key, integration_key), (
                    f"{identity.tag} is coupled to a record that is not its counterpart: {coupling} "
                    f"(its keys: {local_key}, {integration_key})"
                )
            conflict = conflicts.get(coupling.local_key) if coupling is not None else None
            if conflict is not None and current_conflicts:
                _check_conflict(identity.tag, conflict, rows)
            seen[identity.tag] = Seen(
                local=rows[Side.LOCAL],
                integration=rows[Side.INTEGRATION],
                coupled=coupling is not None,
                parked=frozenset(PAIRS[f.pair] for f in conflict.fields) if conflict else frozenset(),
            )
        strangers = {side.value: sorted(rows) for side, rows in records.items() if rows}
        assert not strangers, f"records of no identity: {strangers}"
        for coupling in couplings:
            assert (Side.LOCAL, coupling.local_key) in known and (
                Side.INTEGRATION,
                coupling.integration_key,
            ) in known, f"a coupling of records that never belonged together: {coupling}"
        return seen

    def _records(self, side: Side) -> dict[str, tuple[str, Row]]:
        found: dict[str, tuple[str, Row]] = {}
        for key, values in self.world.rows(side):
            row = Row(**values)
            assert row.tag not in found, f"{row.tag} is duplicated on the {side.value} side: {found[row.tag]}, {row}"
            found[row.tag] = (key, row)
        return found

    # helpers -------------------------------------------------------------------------------------------------
    def _pick(self, side: Side, pick: int) -> Identity | None:
        candidates = [i for i in self.identities if i.live[side]]
        return candidates[pick % len(candidates)] if candidates else None

    @staticmethod
    def _key(identity: Identity, side: Side) -> str:
        key = identity.keys[side]
        assert key is not None
        return key


def _check_conflict(tag: str, conflict: Conflict, rows: dict[Side, Row | None]) -> None:
    """A conflict parked by the last run holds both records' current values of every conflicting field."""
    local, integration = rows[Side.LOCAL], rows[Side.INTEGRATION]
    if local is None or integration is None:
        return  # the survivor of a deleted record: it fails, the conflict is no longer looked at
    for f in conflict.fields:
        name = PAIRS[f.pair]
        held = (f.local_value, f.integration_value)
        actual = (canonical(local.get(name)), canonical(integration.get(name)))
        assert held == actual and held[0] != held[1], (
            f"{tag}: the conflict on {name} holds {held}, the records {actual}"
        )


def written(reports: Sequence[JobReport]) -> int:
    return sum(r.job.counters.inserted + r.job.counters.modified + r.job.counters.deleted for r in reports)

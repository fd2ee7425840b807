"""The smallest scenarios the property tests found, replayed first on every run (Hypothesis's explicit examples).
Each names what went wrong; test_regressions.py holds the same cases as plain tests."""

from __future__ import annotations

from coupler.domain.mapping import Side
from properties.scenario import CrashingSync, Create, Delete, Edit, EditBoth, Operation, Sync

__all__ = ["FOUND"]

LOCAL, INTEGRATION = Side.LOCAL, Side.INTEGRATION


def _create(side: Side) -> Create:
    return Create(side=side, name="a", city="a", credit="a")


def _die(call: str) -> CrashingSync:
    return CrashingSync(full=False, at=1, after=True, kill=True, recover=False, call=call)


FOUND: dict[str, list[Operation]] = {
    "a dead run's local record copied back by the next run's first pass (duplicates)": [
        _create(INTEGRATION),
        _die("local.insert"),
    ],
    "a dead run's account, its source deleted since, copied back (the deleted record returns)": [
        _create(LOCAL),
        _die("integration.insert"),
        Delete(side=LOCAL, pick=0),
    ],
    "an edit between a crash and the recovery never synchronized": [
        _create(LOCAL),
        _die("integration.insert"),
        Edit(side=LOCAL, pick=0, field="city", value="b"),
    ],
    "a change held while parked lost when a user settles the conflict": [
        _create(LOCAL),
        Sync(full=False),
        EditBoth(pick=0, field="name", local="b", integration="c"),
        Edit(side=INTEGRATION, pick=0, field="city", value="b"),
        Sync(full=False),
        Edit(side=LOCAL, pick=0, field="name", value="c"),
    ],
    "a parked conflict left behind by remove-coupling": [
        _create(LOCAL),
        Sync(full=False),
        EditBoth(pick=0, field="name", local="b", integration="c"),
        Sync(full=False),
        Delete(side=LOCAL, pick=0),
        Edit(side=INTEGRATION, pick=0, field="city", value="b"),
    ],
    "the run that settles a conflict writes nothing and leaves the pair disagreeing": [
        _create(LOCAL),
        Sync(full=False),
        EditBoth(pick=0, field="name", local="b", integration="c"),
        Sync(full=False),
        Edit(side=INTEGRATION, pick=0, field="name", value="a"),
    ],
    "a run stopped while recording its start keeps the mapping's lock": [
        _create(LOCAL),
        CrashingSync(full=False, at=1, after=False, kill=False, recover=True, call="store.jobs.add"),
    ],
    "a run stopped while recording its end keeps the mapping's lock": [
        _create(LOCAL),
        CrashingSync(full=False, at=3, after=False, kill=False, recover=True, call="store.save"),
    ],
}

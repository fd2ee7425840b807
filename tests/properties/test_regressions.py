"""Focused regressions for what the property tests found, each the smallest scenario, on the fakes and on SQLite.

A "dead" run is killed at a chosen call (nothing runs after it, not even its lock release); the next run is a new
process, started once the dead run's lock has expired.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.errors import ConnectorError
from coupler.domain.jobs import Job
from coupler.domain.mapping import DeletionPolicy, Side
from coupler.domain.state import NO_CHANGES, StateChanges
from coupler.services.engine.recorder import LOCK_TTL, JobReport
from properties.world import MAPPING, Crash, LogicalClock, MemoryWorld, SqliteWorld, World, counted_uuids

LOCAL, INTEGRATION = Side.LOCAL, Side.INTEGRATION
MakeWorld = Callable[..., World]


@pytest.fixture(params=["memory", "sqlite"])
def make_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeWorld]:
    opened: list[World] = []

    def make(policy: DeletionPolicy = DeletionPolicy.NONE) -> World:
        clock = LogicalClock()
        world = MemoryWorld(policy, clock) if request.param == "memory" else SqliteWorld(policy, clock, tmp_path)
        opened.append(world)
        return world

    with counted_uuids():
        yield make
    for world in opened:
        world.close()


def run(world: World) -> list[JobReport]:
    world.clock.advance(timedelta(seconds=10))
    return world.coupler.sync_modified()


def die_at(world: World, call: str) -> None:
    """A run killed right after ``call`` (e.g. "local.insert"), then a new process once its lock has expired."""
    world.clock.advance(timedelta(seconds=10))
    world.fuse.arm(1, after=True, kill=True, only=call)
    with pytest.raises(Crash):
        world.coupler.sync_modified()
    world.restart()
    world.clock.advance(LOCK_TTL)


def records(world: World, side: Side, tag: str) -> list[dict[str, Any]]:
    return [values for _, values in world.rows(side) if values["tag"] == tag]


def key_of(world: World, side: Side, tag: str) -> str:
    (key,) = [key for key, values in world.rows(side) if values["tag"] == tag]
    return key


def customer(tag: str, **values: Any) -> dict[str, Any]:
    return {"name": "Acme", "city": "Oslo", "tag": tag, "credit": None, **values}


def test_a_record_a_dead_run_created_from_the_integration_side_is_not_copied_back(make_world: MakeWorld) -> None:
    """The run died between creating the local counterpart of an account and coupling them. The next run's first
    pass (local -> integration) read that local record as a new uncoupled one and created an account from it before
    the second pass recovered the intent: two local records and two accounts for one customer."""
    world = make_world()
    world.insert(INTEGRATION, customer("T1"))
    die_at(world, "local.insert")
    run(world)
    run(world)
    assert len(records(world, LOCAL, "T1")) == 1
    assert len(records(world, INTEGRATION, "T1")) == 1


def test_a_record_a_dead_run_created_from_a_record_deleted_since_does_not_bring_it_back(make_world: MakeWorld) -> None:
    """The run died between creating the account of a local customer and coupling them; a user then deleted the
    local customer. Recovery drops the intent because its source is gone, so the account stays uncoupled and the
    next run copies it back: the deleted customer reappears (deletion policy none never re-creates a record)."""
    world = make_world()
    key = world.insert(LOCAL, customer("T1"))
    die_at(world, "integration.insert")
    world.delete(LOCAL, key)
    run(world)
    run(world)
    assert records(world, LOCAL, "T1") == []


@pytest.mark.parametrize("edited", [LOCAL, INTEGRATION])
def test_an_edit_made_between_a_crash_and_the_recovery_is_synchronized(make_world: MakeWorld, edited: Side) -> None:
    """The run died between creating the account of a local customer and coupling them; a user then edited one of
    the two records. Recovery couples them with a fingerprint and stamps taken from both records as they are now
    (and marks the pair handled by the current job), so the edit is never seen as a change: coupled records that
    disagree for good."""
    world = make_world()
    world.insert(LOCAL, customer("T1"))
    die_at(world, "integration.insert")
    world.update(edited, key_of(world, edited, "T1"), "city", "Bergen")
    run(world)
    run(world)
    assert records(world, LOCAL, "T1")[0]["city"] == "Bergen"
    assert records(world, INTEGRATION, "T1")[0]["city"] == "Bergen"


@pytest.mark.parametrize("settled_by", [LOCAL, INTEGRATION])
def test_a_change_held_while_parked_flows_once_a_user_settles_the_conflict(
    make_world: MakeWorld, settled_by: Side
) -> None:
    """Both sides changed the name (parked); the other side also changed the city, which waits with the pair. A
    user settles the conflict by giving ``settled_by``'s record the other side's name. That side's pass finds only
    the other side's city to carry back and leaves it to the reverse pass, which never reads the other record (it
    did not change since its watermark): the city is lost, the pair coupled, not parked, and disagreeing."""
    world = make_world()
    world.insert(LOCAL, customer("T1"))
    run(world)
    other = settled_by.other
    world.update(settled_by, key_of(world, settled_by, "T1"), "name", "Mine")
    world.update(other, key_of(world, other, "T1"), "name", "Theirs")
    world.update(other, key_of(world, other, "T1"), "city", "Bergen")
    run(world)
    assert [c.local_key for c in world.coupler.conflicts()] == [key_of(world, LOCAL, "T1")]
    world.update(settled_by, key_of(world, settled_by, "T1"), "name", "Theirs")
    run(world)
    run(world)
    assert world.coupler.conflicts() == []
    assert records(world, settled_by, "T1")[0]["city"] == "Bergen"


def test_the_run_that_settles_a_conflict_carries_both_sides_changes(make_world: MakeWorld) -> None:
    """Both sides changed the name (parked); a user then gives the account its last synchronized name back, so only
    the local side changed it. The next run reads only the account (the parked local record is older than its
    watermark): its second pass settles the conflict but leaves the local name, marked pending, for the next run's
    first pass. That run writes nothing and still leaves the pair disagreeing: a quiet run is not a settled one."""
    world = make_world()
    world.insert(LOCAL, customer("T1"))
    run(world)
    world.update(LOCAL, key_of(world, LOCAL, "T1"), "name", "Mine")
    world.update(INTEGRATION, key_of(world, INTEGRATION, "T1"), "name", "Theirs")
    run(world)
    world.update(INTEGRATION, key_of(world, INTEGRATION, "T1"), "name", "Acme")
    run(world)
    assert world.coupler.conflicts() == []
    assert records(world, INTEGRATION, "T1")[0]["name"] == "Mine"
    [report] = run(world)
    assert report.job.counters.modified == 0


def test_removing_a_coupling_takes_its_parked_conflict_with_it(make_world: MakeWorld) -> None:
    """With deletion_conflict = remove-coupling, a parked pair whose local record is deleted loses its coupling when
    the account changes, but the parked conflict stays listed, naming a coupling that no longer exists (and
    `resolve` refuses it: not coupled)."""
    world = make_world(DeletionPolicy.REMOVE_COUPLING)
    world.insert(LOCAL, customer("T1"))
    run(world)
    world.update(LOCAL, key_of(world, LOCAL, "T1"), "name", "Mine")
    world.update(INTEGRATION, key_of(world, INTEGRATION, "T1"), "name", "Theirs")
    run(world)
    assert len(world.coupler.conflicts()) == 1
    world.delete(LOCAL, key_of(world, LOCAL, "T1"))
    world.update(INTEGRATION, key_of(world, INTEGRATION, "T1"), "city", "Bergen")
    [report] = run(world)
    assert report.job.counters.uncoupled == 1
    assert world.store.couplings.page(MAPPING) == []
    assert world.coupler.conflicts() == []


class _JobNotRecorded(InMemoryStateStore):
    """A state store that fails once to record a job start, as a dropped connection would."""

    failed = False

    def __init__(self) -> None:
        super().__init__()
        add = self.jobs.add

        def failing_once(job: Job) -> None:
            if not self.failed:
                self.failed = True
                raise ConnectorError("the state store went away")
            add(job)

        self.jobs.add = failing_once  # type: ignore[method-assign]


class _EndNotRecorded(InMemoryStateStore):
    """A state store that fails once to record a job's end."""

    failed = False

    def save(self, changes: StateChanges = NO_CHANGES, *, job: Job | None = None, **log: Any) -> None:
        if job is not None and job.finished_at is not None and not self.failed:
            self.failed = True
            raise ConnectorError("the state store went away")
        super().save(changes, job=job, **log)


def test_a_run_that_cannot_record_its_end_releases_the_mapping_lock() -> None:
    """JobRecorder.finish saves the finished job, then releases the lock: when the save fails, the lock stays held
    and every run for five minutes is refused as if another run were synchronizing the mapping."""
    with counted_uuids():
        world = MemoryWorld(DeletionPolicy.NONE, LogicalClock())
        world.store = _EndNotRecorded()
        world.restart()
        with pytest.raises(ConnectorError):
            world.coupler.sync_modified()
        [report] = run(world)
        assert report.job.finished_at is not None


def test_a_run_that_cannot_record_its_job_releases_the_mapping_lock() -> None:
    """JobRecorder.start takes the mapping's lock, then records the job outside ``stopping_on_error``: when that
    fails (a CouplerError, nothing was done), the lock stays held and every run for five minutes is refused as if
    another run were synchronizing the mapping."""
    with counted_uuids():
        world = MemoryWorld(DeletionPolicy.NONE, LogicalClock())
        world.store = _JobNotRecorded()
        world.restart()
        with pytest.raises(ConnectorError):
            world.coupler.sync_modified()
        [report] = run(world)
        assert report.job.finished_at is not None

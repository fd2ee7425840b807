"""A targeted synchronization (``Coupler.sync_changed``): the records a notification named are synchronized as an
incremental run would, and only they; the watermark stays where it was, so the next run still reads every change."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from coupler.domain.errors import MappingBusy
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import DeletePropagation, Side
from coupler.domain.state import NO_CHANGES, StateChanges
from coupler.services.engine.recorder import JobRecorder
from unit.services.conftest import World, customer_mapping, make_world


def coupled(world: World, *numbers: str) -> list[str]:
    keys = [world.customer(n) for n in numbers]
    assert world.coupler.sync_full("CUSTOMER").ok
    return keys


def partner(world: World, key: str) -> dict[str, object]:
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    return world.account_row(coupling.integration_key)


def test_only_the_named_coupled_records_are_synchronized(world: World) -> None:
    named, other = coupled(world, "C001", "C002")
    world.customer("C001", id=named, displayName="Named")
    world.customer("C002", id=other, displayName="Not named")
    report = world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [named])
    assert report.ok and report.job.counters.modified == 1 and report.job.kind is JobKind.INCREMENTAL
    assert partner(world, named)["name"] == "Named" and partner(world, other)["name"] == "Customer C002"
    (run,) = world.coupler.run_once()  # the watermark did not move past the other change
    assert run.report is not None and partner(world, other)["name"] == "Not named"


def test_an_uncoupled_record_gets_a_counterpart_when_the_mapping_creates_them() -> None:
    world = make_world(customer_mapping(only_coupled=False))
    key = world.customer("C009")
    report = world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [key])
    assert report.ok and report.job.counters.inserted == 1 and partner(world, key)["name"] == "Customer C009"


def test_an_uncoupled_record_is_left_when_the_mapping_synchronizes_coupled_ones_only(world: World) -> None:
    key = world.customer("C009")
    assert world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [key]).job.counters.inserted == 0
    assert world.crm.rows("account") == []


def test_a_deleted_record_deletes_its_partner_when_deletions_propagate() -> None:
    world = make_world(replace(customer_mapping(), delete=DeletePropagation.PROPAGATE))
    (key,) = coupled(world, "C001")
    world.erp.remove("customers", key)
    report = world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [key])
    assert report.job.counters.deleted == 1 and world.crm.rows("account") == []


def test_a_deleted_record_is_left_to_be_noticed_otherwise(world: World) -> None:
    (key,) = coupled(world, "C001")
    world.erp.remove("customers", key)
    assert world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [key]).job.counters.deleted == 0
    assert len(world.crm.rows("account")) == 1


def test_everything_is_an_incremental_run(world: World) -> None:
    first, second = coupled(world, "C001", "C002")
    world.customer("C001", id=first, displayName="One")
    world.customer("C002", id=second, displayName="Two")
    assert world.coupler.sync_changed("CUSTOMER", Side.LOCAL, everything=True).job.counters.modified == 2


def test_a_busy_mapping_is_refused(world: World) -> None:
    (key,) = coupled(world, "C001")
    holder = JobRecorder.start(world.coupler.systems, mapping="CUSTOMER", kind=JobKind.FULL, direction="bidirectional")
    with pytest.raises(MappingBusy):
        world.coupler.sync_changed("CUSTOMER", Side.LOCAL, [key])
    holder.finish()


def test_a_targeted_run_killed_between_creating_and_coupling_creates_nothing_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notified record's counterpart is created, then the process dies before it is coupled (a worker killed):
    the job run again (another worker taking it over) finds the creation and couples it."""
    world = make_world(customer_mapping(only_coupled=False))
    keys = [world.customer(f"C{n:03d}") for n in range(3)]
    save = world.store.save

    def crash(changes: StateChanges = NO_CHANGES, **log: Any) -> None:
        if changes.new_couplings:
            raise KeyboardInterrupt  # killed after the accounts were created, before they were coupled
        save(changes, **log)

    with monkeypatch.context() as patch:
        patch.setattr(world.store, "save", crash)
        with pytest.raises(KeyboardInterrupt):
            world.coupler.sync_changed("CUSTOMER", Side.LOCAL, keys)
    assert len(world.crm.rows("account")) == 3 and world.store.stats("CUSTOMER").couplings == 0
    report = world.coupler.sync_changed("CUSTOMER", Side.LOCAL, keys)
    assert report.ok, report.errors
    assert len(world.crm.rows("account")) == 3, "no account created twice"
    assert world.store.stats("CUSTOMER").couplings == 3
    assert all(partner(world, key)["name"] == f"Customer C{n:03d}" for n, key in enumerate(keys))

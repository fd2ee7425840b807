"""Decouple all (Business Central's action on a table mapping) over in-memory fakes: one job, batch by batch, the
records untouched, parked conflicts gone with their couplings, whole batches only when it stops half-way."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from coupler.domain.coupling import Coupling
from coupler.domain.errors import MappingBusy, RetryableConnectorError, UnknownMapping
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Side
from coupler.services.context import Progress
from unit.services.conftest import World

AT = datetime(2024, 1, 1, tzinfo=UTC)


class Recorded(Progress):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, label: str, total: int | None = None) -> None:
        self.calls.append((label, total))

    def advance(self, count: int) -> None:
        self.calls.append(("advance", count))


def _coupled(world: World, count: int) -> list[str]:
    keys = [world.customer(f"C{n:03d}") for n in range(count)]
    report = world.coupler.sync_full("CUSTOMER", force=True)
    assert report.job.counters.coupled == count, report
    return keys


def _park_a_conflict(world: World, key: str) -> None:
    coupling = world.store.couplings.get("CUSTOMER", Side.LOCAL, key)
    assert coupling is not None
    world.erp.put("customers", {"id": key, "displayName": "Local name"})
    world.crm.put("account", {"accountid": coupling.integration_key, "name": "CRM name"})
    assert world.coupler.sync_modified()[0].job.counters.conflicts == 1
    assert world.store.stats("CUSTOMER").conflicts == 1


def test_decouple_all_removes_every_coupling_batch_by_batch_and_leaves_the_records(world: World) -> None:
    keys = _coupled(world, 8)  # the world's batch size is 3: batches of 3, 3 and 2
    _park_a_conflict(world, keys[4])
    other = Coupling(mapping="CONTACT", local_key="x", integration_key="y", coupled_at=AT)
    world.store.couplings.add([other])
    rows = (world.erp.rows("customers"), world.crm.rows("account"))
    progress = Recorded()
    world.coupler.systems.progress = progress

    report = world.coupler.decouple_all("customer")

    assert report.ok and report.job.kind is JobKind.DECOUPLE and report.job.mapping == "CUSTOMER"
    assert report.job.counters.uncoupled == 8 and report.job.counters.total == 8
    assert report.job.message == "Decoupled every record of CUSTOMER (8)."
    assert world.store.stats("CUSTOMER").couplings == 0
    assert world.store.stats("CUSTOMER").conflicts == 0, "a parked conflict goes with its coupling"
    assert world.coupler.conflicts("CUSTOMER") == []
    assert (world.erp.rows("customers"), world.crm.rows("account")) == rows, "the records stay as they are"
    assert world.store.couplings.get("CONTACT", Side.LOCAL, "x") == other, "other mappings keep their couplings"
    assert progress.calls == [("Decoupling CUSTOMER", 8), ("advance", 3), ("advance", 3), ("advance", 2)]
    assert world.coupler.jobs(limit=1)[0].id == report.job.id
    again = world.coupler.decouple_all("CUSTOMER")
    assert again.ok and again.job.counters.uncoupled == 0, "nothing left: an empty job, not an error"


def test_decoupled_records_can_be_coupled_again(world: World) -> None:
    keys = _coupled(world, 2)
    world.coupler.decouple_all("CUSTOMER")
    account = world.account("Fresh")
    report = world.coupler.couple("CUSTOMER", keys[0], account)
    assert report.ok and report.job.counters.coupled == 1


def test_a_failure_half_way_leaves_whole_batches_removed_and_the_job_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _coupled(world, 8)
    remove = world.store.couplings.remove
    calls: list[int] = []

    def flaky(mapping: str, local_keys: Sequence[str]) -> int:
        calls.append(len(local_keys))
        if len(calls) == 2:
            raise RetryableConnectorError("the state store went away")
        return remove(mapping, local_keys)

    monkeypatch.setattr(world.store.couplings, "remove", flaky)
    with pytest.raises(RetryableConnectorError):
        world.coupler.decouple_all("CUSTOMER")

    assert world.store.stats("CUSTOMER").couplings == 5, "the first batch of 3 went, the second not at all"
    job = world.coupler.jobs(limit=1)[0]
    assert job.kind is JobKind.DECOUPLE and job.finished_at is not None
    assert job.counters.uncoupled == 3
    assert job.message == "Stopped before the end: the state store went away"
    monkeypatch.setattr(world.store.couplings, "remove", remove)
    assert world.coupler.decouple_all("CUSTOMER").job.counters.uncoupled == 5, "the next run removes the rest"


def test_a_stop_request_ends_between_batches(world: World) -> None:
    _coupled(world, 4)
    world.coupler.systems.stop = threading.Event()
    world.coupler.systems.stop.set()
    report = world.coupler.decouple_all("CUSTOMER")
    assert report.job.counters.uncoupled == 0
    assert report.job.message == "Stopped on request after decoupling 0."
    assert world.store.stats("CUSTOMER").couplings == 4


def test_decouple_all_refuses_an_unknown_or_busy_mapping(world: World) -> None:
    _coupled(world, 1)
    with pytest.raises(UnknownMapping, match="NOPE"):
        world.coupler.decouple_all("NOPE")
    now = world.coupler.systems.clock()
    assert world.store.cursors.acquire_lock(
        "mapping:CUSTOMER", "another-run", until=now.replace(year=now.year + 1), now=now
    )
    with pytest.raises(MappingBusy, match="CUSTOMER is being synchronized by another run"):
        world.coupler.decouple_all("CUSTOMER")
    assert world.store.stats("CUSTOMER").couplings == 1

"""Progress with a total: the services announce each stretch of work with the number of records it will handle
where that is cheap to know (a full synchronization per pass from ``Connector.count``, a match, decouple all, a
selection), and the records advanced add up to it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from coupler.domain.mapping import Direction, TableSpec
from coupler.services.context import Progress
from unit.services.conftest import World

ON_NAME = [["displayName"]]


@dataclass
class Stage:
    label: str
    total: int | None
    done: int = 0


@dataclass
class Recording(Progress):
    stages: list[Stage] = field(default_factory=list)

    def start(self, label: str, total: int | None = None) -> None:
        self.stages.append(Stage(label, total))

    def advance(self, count: int) -> None:
        assert self.stages, "advance before any start"
        self.stages[-1].done += count

    def seen(self) -> list[tuple[str, int | None, int]]:
        return [(s.label, s.total, s.done) for s in self.stages]


@pytest.fixture
def progress(world: World) -> Recording:
    recording = Recording()
    world.coupler.systems.progress = recording
    return recording


def customers(world: World, count: int, *, blocked: int = 0) -> list[str]:
    keys = [world.customer(f"C{i:03d}", displayName=f"Company {i}") for i in range(count)]
    keys += [world.customer(f"B{i:03d}", displayName=f"Blocked {i}", blocked="All") for i in range(blocked)]
    return keys


def test_a_full_synchronization_counts_each_pass_source(world: World, progress: Recording) -> None:
    customers(world, 5, blocked=2)
    for i in range(4):
        world.account(f"Account {i}")
    world.account("Inactive", statecode=1)

    world.coupler.sync_full("CUSTOMER", force=True)

    assert progress.seen() == [
        ("CUSTOMER to-integration", 5, 5),  # the blocked customers are outside the filter
        ("CUSTOMER from-integration", 9, 9),  # 4 accounts, and the 5 created by the first pass
    ]


def test_an_incremental_synchronization_has_no_total(world: World, progress: Recording) -> None:
    customers(world, 4)
    world.coupler.sync_full("CUSTOMER", force=True)
    progress.stages.clear()
    world.customer("C100", displayName="New")

    world.coupler.sync_modified(["CUSTOMER"])

    assert [(s.label, s.total) for s in progress.stages] == [
        ("CUSTOMER to-integration", None),
        ("CUSTOMER from-integration", None),
    ]


def test_a_source_that_cannot_count_gives_no_total(
    world: World, progress: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers(world, 3)

    def cannot_count(spec: TableSpec) -> int | None:
        return None

    monkeypatch.setattr(world.erp, "count", cannot_count)

    world.coupler.sync_full("CUSTOMER", force=True)

    assert progress.seen()[0] == ("CUSTOMER to-integration", None, 3)
    assert progress.seen()[1][1] == 3


def test_matching_every_record_counts_the_local_records_read(world: World, progress: Recording) -> None:
    customers(world, 7, blocked=1)
    for i in range(3):
        world.account(f"Company {i}")

    world.coupler.match("CUSTOMER", groups=ON_NAME)

    assert progress.seen() == [("CUSTOMER match", 7, 7)]


def test_matching_a_selection_counts_its_uncoupled_records(world: World, progress: Recording) -> None:
    keys = customers(world, 6)
    world.account("Company 0")
    world.coupler.match("CUSTOMER", groups=ON_NAME, refs=keys[:1])
    progress.stages.clear()

    world.coupler.match("CUSTOMER", groups=ON_NAME, refs=keys[:5])

    assert progress.seen() == [("CUSTOMER match", 4, 4)], "the coupled one is left out"


def test_match_then_synchronize_shows_both_stretches(world: World, progress: Recording) -> None:
    customers(world, 4)
    for i in range(4):
        world.account(f"Company {i}", telephone1="9")

    world.coupler.match("CUSTOMER", groups=ON_NAME, sync_after="both")

    assert progress.seen() == [("CUSTOMER match", 4, 4), ("CUSTOMER bidirectional", 4, 4)]


def test_decouple_all_counts_the_couplings(world: World, progress: Recording) -> None:
    customers(world, 5)
    world.coupler.sync_full("CUSTOMER", force=True)
    progress.stages.clear()

    world.coupler.decouple_all("CUSTOMER")

    assert progress.seen() == [("Decoupling CUSTOMER", 5, 5)]


@pytest.mark.parametrize(
    ("direction", "label"),
    [(None, "CUSTOMER bidirectional"), (Direction.FROM_INTEGRATION, "CUSTOMER from-integration")],
)
def test_a_selection_counts_each_record_once_whatever_the_passes(
    world: World, progress: Recording, direction: Direction | None, label: str
) -> None:
    keys = customers(world, 7)
    world.coupler.sync_full("CUSTOMER", force=True)
    progress.stages.clear()

    world.coupler.sync("CUSTOMER", keys, direction=direction)

    assert progress.seen() == [(label, 7, 7)], "batch size 3: three chunks, each record counted when done"

"""The couplings port (``store.couplings``): reading, the 1:1 rule, removing, paging. Every test runs against
the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from contract.store.values import (
    FAILURE,
    SUCCESS,
    all_couplings,
    assert_utc,
    coupling,
    couplings_in_every_state,
    local_keys_by_page,
)
from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.mapping import Direction, Side
from coupler.domain.ordering import Bookmark, CouplingOrder, coupling_value
from coupler.ports.store import StateStore


# reading ----------------------------------------------------------------------------------------------------------
def test_couplings_are_found_by_either_side(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2"), coupling("L1", "I1", mapping="vendors")])

    by_local = store.couplings.find("customers", Side.LOCAL, ["L1", "L2", "L3"])
    by_integration = store.couplings.find("customers", Side.INTEGRATION, ["I2", "L1"])

    assert by_local == {"L1": coupling("L1", "I1"), "L2": coupling("L2", "I2")}
    assert by_integration == {"I2": coupling("L2", "I2")}
    assert store.couplings.get("vendors", Side.INTEGRATION, "I1") == coupling("L1", "I1", mapping="vendors")
    assert store.couplings.get("customers", Side.LOCAL, "nope") is None
    assert store.couplings.find("customers", Side.LOCAL, []) == {}


def test_couplings_reads_more_keys_than_one_query_holds(store: StateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1234)]
    store.couplings.add([coupling(k) for k in keys])

    found = store.couplings.find("customers", Side.LOCAL, [*keys, "missing", keys[0]])

    assert sorted(found) == keys
    assert found["K01000"].integration_key == "i-K01000"


def test_every_field_round_trips_exactly_and_in_utc(store: StateStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    full = Coupling(
        mapping="customers",
        local_key="C-00001 ÄÖ ключ 🙂",
        integration_key="6f1c2a1e-0000-4000-8000-000000000001",
        coupled_at=datetime(2024, 1, 2, 3, 4, 5, 1, tzinfo=UTC),
        local_modified_on=datetime(2024, 2, 3, 4, 5, 6, 999999, tzinfo=UTC),
        integration_modified_on=datetime(2024, 3, 4, 7, 6, 7, 654321, tzinfo=plus_two),
        last_synced_at=datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        to_integration_result=SUCCESS,
        to_integration_job="job-a",
        from_integration_result=FAILURE,
        from_integration_job="job-b",
        last_error="The field 'name' is too long.\nSecond line",
        failure_count=3,
        skipped=True,
        fingerprint="sha256:abc",
    )
    bare = coupling("bare")
    store.couplings.add([full, bare])

    stored = store.couplings.get("customers", Side.LOCAL, full.local_key)
    assert stored == full
    assert stored is not None
    assert stored.integration_modified_on == datetime(2024, 3, 4, 5, 6, 7, 654321, tzinfo=UTC)
    for value in (stored.coupled_at, stored.local_modified_on, stored.integration_modified_on, stored.last_synced_at):
        assert_utc(value)
    assert stored.to_integration_result is SyncResult.SUCCESS
    assert stored.from_integration_result is SyncResult.FAILURE
    assert stored.skipped is True
    assert store.couplings.get("customers", Side.LOCAL, "bare") == bare
    assert all_couplings(store) == [full, bare]


def test_modified_on_stored_is_equal_to_the_one_read_again(store: StateStore) -> None:
    seen = datetime(2024, 6, 1, 12, 0, 0, 7, tzinfo=UTC)
    store.couplings.add([coupling("L1", local_modified_on=seen, integration_modified_on=seen)])

    stored = store.couplings.get("customers", Side.LOCAL, "L1")

    assert stored is not None
    assert not stored.changed(Side.LOCAL, seen)
    assert stored.changed(Side.LOCAL, seen + timedelta(microseconds=1))


# the 1:1 rule -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("taken", "side"),
    [(coupling("L1", "I9"), "local key(s) 'L1'"), (coupling("L9", "I1"), "integration key(s) 'I1'")],
)
def test_add_refuses_a_taken_key_and_writes_nothing(store: StateStore, taken: Coupling, side: str) -> None:
    store.couplings.add([coupling("L1", "I1")])

    with pytest.raises(AlreadyCoupled) as raised:
        store.couplings.add([coupling("L2", "I2"), taken, coupling("L3", "I3")])

    assert "'customers'" in raised.value.message
    assert side in raised.value.message
    assert all_couplings(store) == [coupling("L1", "I1")]


@pytest.mark.parametrize(
    ("batch", "named"),
    [
        ([coupling("L1", "I1"), coupling("L2", "I1")], "integration key(s) 'I1'"),
        ([coupling("L1", "I1"), coupling("L1", "I2")], "local key(s) 'L1'"),
    ],
)
def test_add_refuses_a_key_twice_in_one_batch(store: StateStore, batch: list[Coupling], named: str) -> None:
    with pytest.raises(AlreadyCoupled, match=named.replace("(", r"\(").replace(")", r"\)")):
        store.couplings.add([coupling("L0", "I0"), *batch])

    assert all_couplings(store) == []


def test_add_names_every_taken_key(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2")])

    with pytest.raises(AlreadyCoupled) as raised:
        store.couplings.add([coupling("L1", "X1"), coupling("X2", "I2")])

    assert "local key(s) 'L1'" in raised.value.message
    assert "integration key(s) 'I2'" in raised.value.message


def test_the_same_keys_may_be_coupled_in_another_mapping(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1")])
    store.couplings.add([coupling("L1", "I1", mapping="contacts")])
    store.couplings.add([])

    assert all_couplings(store, "contacts") == [coupling("L1", "I1", mapping="contacts")]


def test_removed_couplings_free_both_keys(store: StateStore) -> None:
    store.couplings.add([coupling("L1", "I1"), coupling("L2", "I2"), coupling("L1", "I1", mapping="vendors")])

    assert store.couplings.remove("customers", ["L1", "L1", "missing"]) == 1
    assert store.couplings.remove("customers", []) == 0
    assert store.couplings.remove("nothing", ["L2"]) == 0

    store.couplings.add([coupling("L3", "I1"), coupling("L1", "I3")])
    assert [c.local_key for c in all_couplings(store)] == ["L1", "L2", "L3"]
    assert store.couplings.get("customers", Side.INTEGRATION, "I1") == coupling("L3", "I1")
    assert all_couplings(store, "vendors") == [coupling("L1", "I1", mapping="vendors")]


def test_many_couplings_are_removed_at_once(store: StateStore) -> None:
    keys = [f"K{i:04d}" for i in range(1100)]
    store.couplings.add([coupling(k) for k in keys])

    assert store.couplings.remove("customers", keys[:1050]) == 1050
    assert [c.local_key for c in all_couplings(store)] == keys[1050:]


# paging -----------------------------------------------------------------------------------------------------------
def _pages(store: StateStore, direction: Direction, size: int) -> list[list[str]]:
    return local_keys_by_page(
        lambda after, limit: store.couplings.failed("customers", direction, after=after, limit=limit), size
    )


def test_failed_couplings_are_paged_by_local_key(store: StateStore) -> None:
    couplings_in_every_state(store)

    assert _pages(store, Direction.TO_INTEGRATION, 2) == [["a1", "a3"], ["a6"]]
    assert _pages(store, Direction.FROM_INTEGRATION, 1) == [["a2"], ["a3"]]
    assert _pages(store, Direction.BIDIRECTIONAL, 3) == [["a1", "a2", "a3"], ["a6"]]
    assert store.couplings.failed("customers", Direction.TO_INTEGRATION, after="a3", limit=10)[0].local_key == "a6"
    assert store.couplings.failed("nobody", Direction.TO_INTEGRATION, after=None, limit=10) == []


def test_couplings_are_paged_in_code_point_order(store: StateStore) -> None:
    keys = ["b", "B", "a", "Z10", "Z9", "é", "e", "10", "9", "a-1", "a 1", "日本", "ß"]
    store.couplings.add([coupling(k) for k in keys])

    pages = local_keys_by_page(lambda after, limit: store.couplings.page("customers", after=after, limit=limit), 4)

    assert [key for page in pages for key in page] == sorted(keys)
    assert [c.local_key for c in store.couplings.page("customers", after="a", limit=2)] == ["a 1", "a-1"]


def test_a_page_of_couplings_filters_skipped_ones(store: StateStore) -> None:
    couplings_in_every_state(store)

    assert [c.local_key for c in store.couplings.page("customers", skipped=True)] == ["a4", "a9"]
    assert [c.local_key for c in store.couplings.page("customers", skipped=False, after="a4", limit=2)] == ["a5", "a6"]
    assert len(store.couplings.page("customers")) == 8


def test_coupled_tells_which_keys_are_coupled_on_either_side(store: StateStore) -> None:
    store.couplings.add([coupling("a"), coupling("b"), coupling("c", mapping="vendors")])

    assert store.couplings.coupled("customers", Side.LOCAL, ["a", "c", "x", "a"]) == {"a"}
    assert store.couplings.coupled("customers", Side.INTEGRATION, ["i-b", "b", "i-c"]) == {"i-b"}
    assert store.couplings.coupled("customers", Side.LOCAL, []) == set()


# ordered keyset reads (the records list sorted by a coupling's state) ---------------------------------------------
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("by", list(CouplingOrder))
def test_couplings_read_in_order_a_page_after_the_other(store: StateStore, by: CouplingOrder, descending: bool) -> None:
    t = datetime(2024, 5, 1, tzinfo=UTC)
    store.couplings.add(
        [
            coupling("L1", last_synced_at=t, to_integration_result=SUCCESS),
            coupling("L2", last_synced_at=t + timedelta(hours=1), to_integration_result=FAILURE),
            coupling("L3"),
            coupling("L4", last_synced_at=t, from_integration_result=SyncResult.CONFLICT),
            coupling(
                "L5",
                last_synced_at=t - timedelta(days=1),
                to_integration_result=SUCCESS,
                from_integration_result=FAILURE,
            ),
            coupling("other", mapping="vendors"),
        ]
    )
    keys: list[str] = []
    after: Bookmark | None = None
    while True:
        page = store.couplings.ordered("customers", by, descending=descending, after=after, limit=2)
        keys += [c.local_key for c in page]
        if len(page) < 2:
            break
        after = Bookmark(value=coupling_value(page[-1], by), key=page[-1].local_key)
    expected = {
        CouplingOrder.KEY: ["L1", "L2", "L3", "L4", "L5"],
        CouplingOrder.SYNCED: ["L3", "L5", "L1", "L4", "L2"],  # never synchronized first, then by time and key
        CouplingOrder.RESULT: ["L4", "L2", "L5", "L1", "L3"],  # conflict, failures (by key), success, none
    }[by]
    assert keys == (expected[::-1] if descending else expected)

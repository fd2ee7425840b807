"""The attention port (``store.attention``): parked conflicts, failures of uncoupled records and pending
deletions, as ``save`` writes them. Every test runs against the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contract.store.values import (
    INTEGRATION,
    LOCAL,
    PLUS_TWO,
    T0,
    cleared,
    conflict,
    deletion,
    failure,
    field,
    keys_of,
    local_keys_by_page,
    settled,
)
from coupler.domain.mapping import Side
from coupler.domain.state import ConflictField, StateChanges
from coupler.ports.store import StateStore


# parked conflicts -------------------------------------------------------------------------------------------------
def test_a_conflict_round_trips_with_json_values_and_utc_time(store: StateStore) -> None:
    fields = (
        field("name", "Ärger & Co 🙂", "Aerger"),
        field("credit", 1500, 1500.5),
        field("blocked", True, False),
        field("phone", None, "+49 1"),
        ConflictField(
            pair="big",
            local_field="n",
            integration_field="m",
            local_value=2**53 + 1,
            integration_value=0.1,
            last_local=None,
            last_integration=-7,
        ),
    )
    parked = conflict("C-1 ключ", "customers", *fields, at=datetime(2024, 5, 6, 9, 8, 9, 5, tzinfo=PLUS_TWO))

    store.save(StateChanges(conflicts=(parked,)))

    stored = store.attention.conflict("customers", "C-1 ключ")
    assert stored == parked
    assert stored is not None
    assert stored.detected_at == datetime(2024, 5, 6, 7, 8, 9, 5, tzinfo=UTC)
    assert stored.detected_at.utcoffset() == timedelta(0)
    assert stored.pairs == ("name", "credit", "blocked", "phone", "big")
    values = [(f.local_value, f.integration_value) for f in stored.fields]
    assert [tuple(type(v) for v in pair) for pair in values] == [
        (str, str),
        (int, float),
        (bool, bool),
        (type(None), str),
        (int, float),
    ]
    assert store.attention.conflicts() == [parked]
    assert store.attention.conflict("customers", "other") is None
    assert store.attention.conflict("vendors", "C-1 ключ") is None


def test_a_conflict_replaces_the_parked_one_of_the_same_record(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"), conflict("L1", "vendors"), conflict("L2"))))
    newer = conflict("L1", "customers", field("city", "Berlin", "Bonn"), at=T0 + timedelta(hours=1))

    store.save(StateChanges(conflicts=(newer,)))

    assert store.attention.conflict("customers", "L1") == newer
    assert store.attention.conflict("vendors", "L1") == conflict("L1", "vendors")
    assert keys_of(store.attention.conflicts()) == [("customers", "L1"), ("customers", "L2"), ("vendors", "L1")]


def test_the_last_of_two_conflicts_of_one_record_in_a_save_wins(store: StateStore) -> None:
    first, last = conflict("L1", "customers", field("a")), conflict("L1", "customers", field("b"))

    store.save(StateChanges(conflicts=(first, last)))

    assert store.attention.conflicts() == [last]


def test_settled_conflicts_are_removed(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"), conflict("L2"), conflict("L1", "vendors"))))

    store.save(StateChanges(settled=(settled("L1"), settled("missing"), settled("L2", "nobody"))))

    assert keys_of(store.attention.conflicts()) == [("customers", "L2"), ("vendors", "L1")]


def test_a_conflict_parked_and_settled_in_one_save_ends_up_settled(store: StateStore) -> None:
    store.save(StateChanges(conflicts=(conflict("L1"),)))

    store.save(StateChanges(conflicts=(conflict("L1"), conflict("L2")), settled=(settled("L1"),)))

    assert keys_of(store.attention.conflicts()) == [("customers", "L2")]


def test_conflicts_are_ordered_by_mapping_and_local_key_and_paged(store: StateStore) -> None:
    keys = ["b", "B", "a", "Z10", "Z9", "é", "10", "9", "a-1", "a 1", "日本"]
    store.save(
        StateChanges(conflicts=(*(conflict(k) for k in keys), conflict("x", "accounts"), conflict("a", "Vendors")))
    )

    assert keys_of(store.attention.conflicts()) == [
        ("Vendors", "a"),
        ("accounts", "x"),
        *(("customers", k) for k in sorted(keys)),
    ]
    pages = local_keys_by_page(lambda after, limit: store.attention.conflicts("customers", after=after, limit=limit), 3)
    assert [key for page in pages for key in page] == sorted(keys)
    assert [c.local_key for c in store.attention.conflicts("customers", after="a", limit=2)] == ["a 1", "a-1"]
    assert store.attention.conflicts("nobody") == []


def test_conflicts_come_a_hundred_at_a_time_by_default(store: StateStore) -> None:
    store.save(StateChanges(conflicts=tuple(conflict(f"K{i:03d}") for i in range(150))))

    assert len(store.attention.conflicts()) == 100
    assert len(store.attention.conflicts("customers", limit=1000)) == 150


# failures of uncoupled records ------------------------------------------------------------------------------------
def test_a_failure_round_trips_in_utc(store: StateStore) -> None:
    at = datetime(2024, 5, 6, 9, 8, 9, 999999, tzinfo=PLUS_TWO)
    failed = failure("C-1 ÄÖ", INTEGRATION, message="The name is too long.\nSecond line", at=at, failure_count=3)
    skipped = failure("C-2", skipped=True, failure_count=2)

    store.save(StateChanges(failures=(failed, skipped)))

    found = store.attention.failures_of("customers", INTEGRATION, ["C-1 ÄÖ", "C-2", "missing"])
    assert found == {"C-1 ÄÖ": failed}
    assert found["C-1 ÄÖ"].at == datetime(2024, 5, 6, 7, 8, 9, 999999, tzinfo=UTC)
    assert found["C-1 ÄÖ"].at.utcoffset() == timedelta(0)
    assert found["C-1 ÄÖ"].side is Side.INTEGRATION
    local = store.attention.failures_of("customers", LOCAL, ["C-2", "C-1 ÄÖ"])
    assert local == {"C-2": skipped}
    assert local["C-2"].skipped is True
    assert store.attention.failures_of("customers", LOCAL, []) == {}
    assert store.attention.failures_of("vendors", LOCAL, ["C-2"]) == {}


def test_failures_are_read_by_more_keys_than_one_query_holds(store: StateStore) -> None:
    keys = [f"K{i:05d}" for i in range(1234)]
    store.save(StateChanges(failures=tuple(failure(k) for k in keys)))

    found = store.attention.failures_of("customers", LOCAL, [*keys, "missing", keys[0]])

    assert sorted(found) == keys
    assert found["K01000"] == failure("K01000")


def test_a_failure_replaces_the_one_of_the_same_record_and_twice_the_same_message_skips(store: StateStore) -> None:
    store.save(StateChanges(failures=(failure("K1"), failure("K1", INTEGRATION), failure("K1", mapping="vendors"))))
    stored = store.attention.failures_of("customers", LOCAL, ["K1"])["K1"]

    again = stored.again(message="boom", job_id="job-2", at=T0 + timedelta(hours=1))
    store.save(StateChanges(failures=(again,)))

    assert store.attention.failures_of("customers", LOCAL, ["K1"]) == {"K1": again}
    assert again.skipped is True
    assert again.failure_count == 2
    assert store.attention.failures_of("customers", INTEGRATION, ["K1"]) == {"K1": failure("K1", INTEGRATION)}
    assert store.attention.failures_of("vendors", LOCAL, ["K1"]) == {"K1": failure("K1", mapping="vendors")}


def test_cleared_failures_are_removed_by_mapping_side_and_key(store: StateStore) -> None:
    store.save(
        StateChanges(
            failures=(failure("K1"), failure("K1", INTEGRATION), failure("K2"), failure("K1", mapping="vendors"))
        )
    )

    store.save(StateChanges(cleared=(cleared("K1"), cleared("missing"), cleared("K1"))))

    assert [(f.mapping, f.side, f.key) for f in store.attention.failures()] == [
        ("customers", INTEGRATION, "K1"),
        ("customers", LOCAL, "K2"),
        ("vendors", LOCAL, "K1"),
    ]


def test_a_failure_stored_and_cleared_in_one_save_ends_up_cleared(store: StateStore) -> None:
    store.save(StateChanges(failures=(failure("K1"), failure("K2")), cleared=(cleared("K1"),)))

    assert [f.key for f in store.attention.failures()] == ["K2"]


def test_failures_are_listed_by_mapping_side_and_key_with_filters(store: StateStore) -> None:
    store.save(
        StateChanges(
            failures=(
                failure("b", LOCAL),
                failure("a", LOCAL, skipped=True),
                failure("c", INTEGRATION),
                failure("B", INTEGRATION, skipped=True),
                failure("é", LOCAL),
                failure("z", LOCAL, mapping="accounts"),
            )
        )
    )

    def listed(**kw: object) -> list[tuple[str, str, str]]:
        return [(f.mapping, f.side.value, f.key) for f in store.attention.failures(**kw)]  # type: ignore[arg-type]

    assert listed() == [
        ("accounts", "local", "z"),
        ("customers", "integration", "B"),
        ("customers", "integration", "c"),
        ("customers", "local", "a"),
        ("customers", "local", "b"),
        ("customers", "local", "é"),
    ]
    assert listed(mapping="customers", side=LOCAL) == [
        ("customers", "local", "a"),
        ("customers", "local", "b"),
        ("customers", "local", "é"),
    ]
    assert listed(mapping="customers", side=LOCAL, after="a", limit=1) == [("customers", "local", "b")]
    assert listed(skipped=True) == [("customers", "integration", "B"), ("customers", "local", "a")]
    assert [k for _, _, k in listed(mapping="customers", skipped=False)] == ["c", "b", "é"]
    assert listed(limit=2) == listed()[:2]
    assert listed(mapping="nobody") == []


# pending deletions ------------------------------------------------------------------------------------------------
def test_pending_deletions_round_trip_oldest_first(store: StateStore) -> None:
    late = deletion("L1", at=T0 + timedelta(hours=2), reported=True)
    early = deletion("I1", INTEGRATION, at=datetime(2024, 5, 6, 8, 8, 9, 123456, tzinfo=PLUS_TWO))
    middle = deletion("V1", mapping="vendors", at=T0 + timedelta(hours=1))
    tie_b, tie_a = deletion("b", at=T0 + timedelta(hours=3)), deletion("a", at=T0 + timedelta(hours=3))

    store.save(StateChanges(deletions=(late, early, middle, tie_b, tie_a)))

    listed = store.attention.pending_deletions()
    assert listed == [early, middle, late, tie_a, tie_b]
    assert listed[0].detected_at == datetime(2024, 5, 6, 6, 8, 9, 123456, tzinfo=UTC)
    assert listed[0].detected_at.utcoffset() == timedelta(0)
    assert listed[0].side is Side.INTEGRATION
    assert listed[2].reported is True
    assert listed[0].reported is False
    assert store.attention.pending_deletions("customers", limit=2) == [early, late]
    assert store.attention.pending_deletions("nobody") == []


def test_a_pending_deletion_replaces_the_one_of_the_same_deleted_record(store: StateStore) -> None:
    store.save(StateChanges(deletions=(deletion("K1"), deletion("K1", INTEGRATION))))
    newer = replace(deletion("K1", at=T0 + timedelta(days=1)), survivor_key="other", reported=True)

    store.save(StateChanges(deletions=(newer,)))

    assert store.attention.pending_deletions() == [deletion("K1", INTEGRATION), newer]


def test_pending_deletions_are_removed_by_mapping_side_and_key(store: StateStore) -> None:
    keys = [f"K{i:04d}" for i in range(1100)]
    store.save(StateChanges(deletions=(*(deletion(k) for k in keys), deletion("K0000", INTEGRATION))))

    assert store.attention.remove_pending_deletions("customers", LOCAL, [*keys[:1050], "K0000", "missing"]) == 1050
    assert store.attention.remove_pending_deletions("customers", LOCAL, []) == 0
    assert store.attention.remove_pending_deletions("vendors", LOCAL, keys) == 0

    left = store.attention.pending_deletions(limit=10_000)
    assert [(d.side, d.deleted_key) for d in left] == [(INTEGRATION, "K0000")] + [(LOCAL, k) for k in keys[1050:]]

"""The state store contract for pending deletions, intents to create and locks. Every test runs against memory,
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contract.store.state_values import (
    FROM,
    INTEGRATION,
    LOCAL,
    PLUS_TWO,
    T0,
    TO,
    deletion,
    intent,
)
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import FindAgain, Lock, StateChanges
from coupler.ports.store import StateStore


# pending deletions ----------------------------------------------------------------------------------------------
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


# intents to create ----------------------------------------------------------------------------------------------
def test_intents_are_kept_per_mapping_and_direction_oldest_first(store: StateStore) -> None:
    later = intent("a", at=T0 + timedelta(seconds=1))
    store.cursors.add_intents([later, intent("c"), intent("b"), intent("a", FROM), intent("a", mapping="vendors")])
    store.cursors.add_intents([])

    assert store.cursors.intents("customers", TO) == [intent("b"), intent("c"), later]
    assert store.cursors.intents("customers", TO, limit=2) == [intent("b"), intent("c")]
    assert store.cursors.intents("customers", FROM) == [intent("a", FROM)]
    assert store.cursors.intents("vendors", TO) == [intent("a", mapping="vendors")]
    assert store.cursors.intents("nobody", TO) == []
    assert store.cursors.intents("customers", TO)[0].direction is Direction.TO_INTEGRATION


def test_an_intent_round_trips_in_utc_and_replaces_one_of_the_same_source(store: StateStore) -> None:
    store.cursors.add_intents([intent("a")])
    again = replace(intent("a", at=datetime(2024, 5, 6, 9, 0, tzinfo=PLUS_TWO)), target_key="t-new")

    store.cursors.add_intents([again, replace(again, target_key="t-last")])

    stored = store.cursors.intents("customers", TO)
    assert stored == [replace(again, target_key="t-last")]
    assert stored[0].at == datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
    assert stored[0].at.utcoffset() == timedelta(0)


def test_an_intent_without_a_target_key_round_trips_with_the_value_it_is_found_again_by(store: StateStore) -> None:
    """Where the target assigns keys, the intent names the value the created record is found again by."""
    by_number = replace(intent("a"), target_key=None, find=FindAgain(field="number", value="C00010", unique=True))
    by_name = replace(intent("b"), target_key=None, find=FindAgain(field="code", value=7))

    store.cursors.add_intents([by_number, by_name, intent("c")])

    assert store.cursors.intents("customers", TO) == [by_number, by_name, intent("c")]


def test_dropped_intents_are_gone(store: StateStore) -> None:
    keys = [f"K{i:04d}" for i in range(1100)]
    store.cursors.add_intents([intent(k) for k in keys] + [intent("K0000", FROM)])

    store.cursors.drop_intents("customers", TO, [*keys[:1050], "missing", "K0000"])
    store.cursors.drop_intents("customers", TO, [])
    store.cursors.drop_intents("vendors", TO, keys)

    assert [i.source_key for i in store.cursors.intents("customers", TO, limit=10_000)] == keys[1050:]
    assert store.cursors.intents("customers", FROM) == [intent("K0000", FROM)]


# locks ----------------------------------------------------------------------------------------------------------
def test_a_free_lock_is_taken_and_refused_to_another_owner(store: StateStore) -> None:
    until = T0 + timedelta(minutes=5)

    assert store.cursors.acquire_lock("sync:customers", "worker-a", until=until, now=T0)
    assert not store.cursors.acquire_lock("sync:customers", "worker-b", until=until, now=T0 + timedelta(minutes=1))
    assert store.cursors.acquire_lock("sync:vendors", "worker-b", until=until, now=T0)


def test_the_owner_extends_its_lock(store: StateStore) -> None:
    assert store.cursors.acquire_lock("sync", "a", until=T0 + timedelta(minutes=5), now=T0)
    assert store.cursors.acquire_lock("sync", "a", until=T0 + timedelta(minutes=20), now=T0 + timedelta(minutes=4))

    assert not store.cursors.acquire_lock("sync", "b", until=T0 + timedelta(hours=1), now=T0 + timedelta(minutes=10))
    assert store.cursors.acquire_lock("sync", "b", until=T0 + timedelta(hours=1), now=T0 + timedelta(minutes=21))


def test_an_expired_lock_is_taken_over_but_not_at_the_moment_it_expires(store: StateStore) -> None:
    until = datetime(2024, 5, 6, 9, 13, 9, 123456, tzinfo=PLUS_TWO)  # T0 + 5 minutes
    assert store.cursors.acquire_lock("sync", "a", until=until, now=T0)

    assert not store.cursors.acquire_lock("sync", "b", until=T0 + timedelta(hours=1), now=T0 + timedelta(minutes=5))
    assert store.cursors.acquire_lock("sync", "b", until=T0 + timedelta(hours=1), now=until + timedelta(microseconds=1))
    assert not store.cursors.acquire_lock("sync", "a", until=T0 + timedelta(hours=2), now=T0 + timedelta(minutes=6))


def test_only_the_owner_releases_a_lock(store: StateStore) -> None:
    until = T0 + timedelta(minutes=5)
    store.cursors.acquire_lock("sync", "a", until=until, now=T0)

    store.cursors.release_lock("sync", "b")
    store.cursors.release_lock("unknown", "a")
    assert not store.cursors.acquire_lock("sync", "b", until=until, now=T0)

    store.cursors.release_lock("sync", "a")
    assert store.cursors.acquire_lock("sync", "b", until=until, now=T0)


def test_locks_are_listed_with_their_owners_process(store: StateStore) -> None:
    assert store.cursors.locks() == []
    store.cursors.acquire_lock(
        "mapping:VENDOR", "job-2", until=T0 + timedelta(minutes=5), now=T0, host="erp-1", pid=4242
    )
    store.cursors.acquire_lock("mapping:CUSTOMER", "job-1", until=T0, now=T0 - timedelta(minutes=5))

    assert store.cursors.locks() == [
        Lock(name="mapping:CUSTOMER", owner="job-1", until=T0),
        Lock(name="mapping:VENDOR", owner="job-2", until=T0 + timedelta(minutes=5), host="erp-1", pid=4242),
    ]
    later = T0 + timedelta(minutes=1)
    store.cursors.acquire_lock(
        "mapping:CUSTOMER", "job-3", until=later + timedelta(minutes=5), now=later, host="h", pid=7
    )
    assert store.cursors.locks()[0] == Lock(
        name="mapping:CUSTOMER", owner="job-3", until=later + timedelta(minutes=5), host="h", pid=7
    ), "who took over an expired lock is named, not its former owner"


def test_only_the_owner_renews_a_lock_and_only_while_no_one_took_it(store: StateStore) -> None:
    store.cursors.acquire_lock("sync", "a", until=T0 + timedelta(minutes=5), now=T0, host="h", pid=1)

    assert store.cursors.renew_lock("sync", "a", until=T0 + timedelta(minutes=9))
    assert not store.cursors.renew_lock("sync", "b", until=T0 + timedelta(hours=1))
    assert store.cursors.locks() == [Lock(name="sync", owner="a", until=T0 + timedelta(minutes=9), host="h", pid=1)]
    assert store.cursors.renew_lock("sync", "a", until=T0 + timedelta(minutes=20)), "expired but not taken: still a's"

    assert store.cursors.acquire_lock("sync", "b", until=T0 + timedelta(hours=1), now=T0 + timedelta(minutes=21))
    assert not store.cursors.renew_lock("sync", "a", until=T0 + timedelta(hours=2)), "taken over: a lost it"
    store.cursors.release_lock("sync", "b")
    assert not store.cursors.renew_lock("sync", "b", until=T0 + timedelta(hours=2)), (
        "released: renewing does not take it"
    )
    assert store.cursors.locks() == []

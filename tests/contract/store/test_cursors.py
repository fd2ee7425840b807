"""The cursors port (``store.cursors``): watermarks, the deleted-entries feeds' cursors, intents to create and
locks. Every test runs against the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from contract.store.values import (
    FROM,
    PLUS_TWO,
    T0,
    TO,
    assert_utc,
    intent,
)
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import ChangeCursor
from coupler.domain.state import FindAgain, Lock
from coupler.ports.store import StateStore


# watermarks and deleted-entries feeds -----------------------------------------------------------------------------
def test_watermarks_are_kept_per_mapping_and_side(store: StateStore) -> None:
    assert store.cursors.watermark("customers", Side.LOCAL) is None
    first = ChangeCursor(stamp=datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    second = ChangeCursor(stamp=datetime(2024, 1, 2, 12, 30, 0, 999999, tzinfo=timezone(timedelta(hours=-5))))

    store.cursors.set_watermark("customers", Side.LOCAL, first)
    store.cursors.set_watermark("customers", Side.INTEGRATION, first)
    store.cursors.set_watermark("customers", Side.LOCAL, second)
    store.cursors.set_watermark("vendors", Side.LOCAL, None)

    local = store.cursors.watermark("customers", Side.LOCAL)
    assert local == second
    assert local is not None and local.key is None
    assert_utc(local.stamp)
    assert store.cursors.watermark("customers", Side.INTEGRATION) == first
    assert store.cursors.watermark("vendors", Side.LOCAL) is None
    assert store.cursors.watermark("vendors", Side.INTEGRATION) is None

    store.cursors.set_watermark("customers", Side.LOCAL, None)
    assert store.cursors.watermark("customers", Side.LOCAL) is None


def test_a_watermark_keeps_its_key_beside_its_stamp(store: StateStore) -> None:
    """The keyset position of the last record read (a run stopped among records sharing one stamp resumes after
    it); a later watermark with no key replaces both."""
    stamp = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    key = "0f8fad5b-d9cb-469f-a165-70867728950e" + "é" * 300  # as long as a coupled key may be
    store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=stamp, key=key))
    store.cursors.set_watermark("customers", Side.INTEGRATION, ChangeCursor(stamp=stamp, key="10"))

    assert store.cursors.watermark("customers", Side.LOCAL) == ChangeCursor(stamp=stamp, key=key)
    assert store.cursors.watermark("customers", Side.INTEGRATION) == ChangeCursor(stamp=stamp, key="10")

    store.cursors.set_watermark("customers", Side.LOCAL, ChangeCursor(stamp=stamp + timedelta(seconds=1)))
    assert store.cursors.watermark("customers", Side.LOCAL) == ChangeCursor(stamp=stamp + timedelta(seconds=1))
    store.cursors.set_watermark("customers", Side.INTEGRATION, None)
    assert store.cursors.watermark("customers", Side.INTEGRATION) is None


def test_deletions_cursors_are_kept_per_mapping_and_side_apart_from_the_watermark(store: StateStore) -> None:
    mark = ChangeCursor(stamp=datetime(2024, 3, 1, 8, 0, tzinfo=UTC), key="k7")
    later = ChangeCursor(stamp=mark.stamp + timedelta(hours=1))
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) is None
    store.cursors.set_watermark("customers", Side.INTEGRATION, mark)

    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, "accounts:41!03/01/2024 08:00:00")
    store.cursors.set_deletions_cursor("vendors", Side.INTEGRATION, "accounts:7!03/01/2024 08:00:00")
    store.cursors.set_deletions_cursor("customers", Side.LOCAL, "x" * 5000)  # opaque and unbounded (a long token)

    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:41!03/01/2024 08:00:00"
    assert store.cursors.deletions_cursor("vendors", Side.INTEGRATION) == "accounts:7!03/01/2024 08:00:00"
    assert store.cursors.deletions_cursor("customers", Side.LOCAL) == "x" * 5000
    assert store.cursors.watermark("customers", Side.INTEGRATION) == mark, "the watermark is left alone"
    assert store.cursors.watermark("vendors", Side.INTEGRATION) is None

    store.cursors.set_watermark("customers", Side.INTEGRATION, later)
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:41!03/01/2024 08:00:00", (
        "and a new watermark leaves the cursor alone"
    )
    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, "accounts:42!03/01/2024 09:00:00")
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) == "accounts:42!03/01/2024 09:00:00"
    store.cursors.set_deletions_cursor("customers", Side.INTEGRATION, None)
    assert store.cursors.deletions_cursor("customers", Side.INTEGRATION) is None
    assert store.cursors.watermark("customers", Side.INTEGRATION) == later


# intents to create ------------------------------------------------------------------------------------------------
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


# locks ------------------------------------------------------------------------------------------------------------
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

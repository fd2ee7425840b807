"""Locks in the SQL store hold between store instances, threads and processes sharing one database: of any number
of racers exactly one wins, and an expired lock is taken over by exactly one of them."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coupler.adapters.store import SqlStateStore, open_state_store
from coupler.adapters.store.sql.schema import locks

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
RACERS = 16


@pytest.fixture
def other(sql_store: SqlStateStore) -> Iterator[SqlStateStore]:
    """A second store instance (its own engine and connections) on the same database, as another process has."""
    store = open_state_store(sql_store.engine.url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()


def holder(store: SqlStateStore, name: str) -> tuple[str, datetime] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(locks.c.owner, locks.c.until).where(locks.c.name == name)).first()
    return None if row is None else (row[0], row[1])


def race(stores: list[SqlStateStore], attempt: Callable[[SqlStateStore, str], bool]) -> dict[str, bool]:
    """Run ``attempt`` in RACERS threads at once, spread over the stores; the result of each owner."""
    barrier = threading.Barrier(RACERS)
    results: dict[str, bool] = {}
    failures: list[BaseException] = []

    def run(store: SqlStateStore, owner: str) -> None:
        try:
            barrier.wait(timeout=30)
            results[owner] = attempt(store, owner)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(stores[i % len(stores)], f"owner-{i:02d}")) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(results) == RACERS
    return results


def test_a_lock_taken_by_one_instance_is_refused_to_another(sql_store: SqlStateStore, other: SqlStateStore) -> None:
    until = T0 + timedelta(minutes=5)

    assert sql_store.cursors.acquire_lock("sync", "a", until=until, now=T0)
    assert not other.cursors.acquire_lock("sync", "b", until=until, now=T0 + timedelta(minutes=1))
    other.cursors.release_lock("sync", "b")
    assert holder(other, "sync") == ("a", until)

    sql_store.cursors.release_lock("sync", "a")
    assert other.cursors.acquire_lock("sync", "b", until=until, now=T0 + timedelta(minutes=1))
    assert holder(sql_store, "sync") == ("b", until)


def test_another_instance_takes_over_an_expired_lock(sql_store: SqlStateStore, other: SqlStateStore) -> None:
    assert sql_store.cursors.acquire_lock("sync", "a", until=T0 + timedelta(minutes=5), now=T0)

    later = T0 + timedelta(minutes=6)
    assert other.cursors.acquire_lock("sync", "b", until=later + timedelta(minutes=5), now=later)
    assert not sql_store.cursors.acquire_lock("sync", "a", until=later + timedelta(minutes=5), now=later)
    sql_store.cursors.release_lock("sync", "a")  # no longer a's: nothing happens
    assert holder(other, "sync") == ("b", later + timedelta(minutes=5))


def test_of_many_threads_racing_for_a_free_lock_exactly_one_wins(
    sql_store: SqlStateStore, other: SqlStateStore
) -> None:
    until = T0 + timedelta(minutes=5)

    results = race(
        [sql_store, other], lambda store, owner: store.cursors.acquire_lock("sync", owner, until=until, now=T0)
    )

    winners = [owner for owner, won in results.items() if won]
    assert len(winners) == 1
    assert holder(sql_store, "sync") == (winners[0], until)


def test_of_many_threads_taking_over_an_expired_lock_exactly_one_wins(
    sql_store: SqlStateStore, other: SqlStateStore
) -> None:
    assert sql_store.cursors.acquire_lock("sync", "crashed", until=T0, now=T0 - timedelta(minutes=5))
    now, until = T0 + timedelta(seconds=1), T0 + timedelta(minutes=5)

    results = race(
        [sql_store, other], lambda store, owner: store.cursors.acquire_lock("sync", owner, until=until, now=now)
    )

    winners = [owner for owner, won in results.items() if won]
    assert len(winners) == 1
    assert holder(other, "sync") == (winners[0], until)


_RACER = """
import sys, time
from datetime import datetime, timedelta
from coupler.adapters.store import open_state_store

url, owner, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = open_state_store(url)
now = datetime.fromisoformat("2024-05-06T07:08:09+00:00")
time.sleep(max(0.0, start - time.time()))
print(store.cursors.acquire_lock("sync", owner, until=now + timedelta(minutes=5), now=now))
store.close()
"""


def test_of_processes_racing_for_a_lock_exactly_one_wins(sql_store: SqlStateStore) -> None:
    url = sql_store.engine.url.render_as_string(hide_password=False)
    start = time.time() + 3  # time enough for every interpreter to start and connect
    owners = [f"process-{i}" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, url, owner, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for owner in owners
    ]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [(p.returncode, err) for p, (_, err) in zip(processes, outputs, strict=True)] == [(0, "")] * len(owners)
    results = {owner: out.strip() for owner, (out, _) in zip(owners, outputs, strict=True)}
    assert sorted(results.values()) == ["False"] * (len(owners) - 1) + ["True"]
    winner = next(owner for owner, result in results.items() if result == "True")
    current = holder(sql_store, "sync")
    assert current is not None
    assert current[0] == winner

"""The mapping lock under long waits: a heartbeat keeps it while the job waits (a 429's Retry-After, a slow page),
a run that lost it stops before writing, and two runs on one mapping never create a record twice."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.store import open_state_store
from coupler.domain.errors import LockLost, MappingBusy, RetryableConnectorError
from coupler.domain.jobs import JobKind
from coupler.domain.timeutil import format_iso
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobRecorder
from coupler.services.lease import LOCK_TTL, Lease
from unit.services.conftest import World, customer_mapping, make_world


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def stall_first(monkeypatch: pytest.MonkeyPatch, system: object, method: str, stall: Callable[[], None]) -> None:
    """The first call of ``system.method`` first runs ``stall``: a long wait (on a 429's Retry-After, a slow
    server) during which time passes and another run may start."""
    original = getattr(system, method)
    pending = [stall]

    def stalled(*args: Any, **kwargs: Any) -> Any:
        if pending:
            pending.pop()()
        return original(*args, **kwargs)

    monkeypatch.setattr(system, method, stalled)


def in_another_process(run: Callable[[], Any], *, after: float = 0.0) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``run`` after ``after`` seconds on a thread of its own (its own context, as another process has); the
    thread and where its result or error will be."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        time.sleep(after)
        try:
            outcome["result"] = run()
        except Exception as error:  # the test looks at it
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def accounts(world: World) -> list[str]:
    return sorted(row["name"] for row in world.crm.rows("account"))


CUSTOMERS = ["Customer C000", "Customer C001", "Customer C002"]


def new_customers(world: World) -> None:
    for n in range(3):
        world.customer(f"C{n:03d}")


def test_a_run_whose_lock_expired_in_a_long_wait_stops_before_writing_so_nothing_is_created_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first run has found its page's customers uncoupled; before it creates their accounts it waits longer
    than its lock lives, and no heartbeat kept the lock (here the clock jumps while no real time passes). A second
    run takes the expired lock over and creates the accounts. The first run must then stop, not create them too."""
    world = make_world(customer_mapping(only_coupled=False))
    clock = ManualClock()
    world.coupler.systems.clock = clock
    new_customers(world)
    second: dict[str, Any] = {}

    def wait_longer_than_the_lock_lives() -> None:
        clock.advance(LOCK_TTL + timedelta(minutes=1))
        thread, outcome = in_another_process(lambda: Coupler(world.coupler.systems).sync_modified())
        thread.join(timeout=60)
        second.update(outcome)

    stall_first(monkeypatch, world.crm, "new_keys", wait_longer_than_the_lock_lives)
    with pytest.raises(LockLost, match="the lock on CUSTOMER was taken by another run"):
        world.coupler.sync_modified()

    assert "error" not in second, second.get("error")
    [taken_over] = second["result"]
    assert taken_over.job.counters.inserted == 3
    assert accounts(world) == CUSTOMERS, "each account created once"
    [first] = [job for job in world.store.jobs.recent() if job.id != taken_over.job.id]
    assert first.finished_at is not None and first.counters.inserted == 0
    assert first.message is not None
    assert first.message.startswith("Stopped before the end: the lock on CUSTOMER was taken by another run")
    assert world.store.cursors.locks() == [], "the second run released its lock; the first had none left to release"
    clock.advance(timedelta(seconds=10))
    assert [r.job.counters.total for r in world.coupler.sync_modified()] == [0]


@pytest.fixture(params=["memory", "sqlite"])
def short_lived(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """A world whose locks live half a second (renewed every tenth), on the real clock; its state store in memory,
    or in a SQLite file (the heartbeat then writes on a connection of its own while the job holds another)."""
    world = make_world(customer_mapping(only_coupled=False))
    if request.param == "sqlite":
        store = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
        request.addfinalizer(store.close)
        world.store = world.coupler.systems.store = store  # type: ignore[assignment]
    world.coupler.systems.lock_ttl = timedelta(seconds=0.5)
    return world


def test_the_heartbeat_keeps_the_lock_through_a_wait_longer_than_it_lives(
    short_lived: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run's insert waits three times as long as the lock lives (a 429's Retry-After); a second run
    started in the middle of the wait finds the mapping busy, and the first run then creates every account once."""
    world = short_lived
    new_customers(world)
    renewals: list[datetime] = []
    second: dict[str, Any] = {}

    def wait_on_retry_after() -> None:
        thread, outcome = in_another_process(lambda: Coupler(world.coupler.systems).sync_modified(), after=0.75)
        for _ in range(3):
            time.sleep(0.5)
            renewals.extend(lock.until for lock in world.store.cursors.locks())
        thread.join(timeout=60)
        second.update(outcome)

    stall_first(monkeypatch, world.crm, "insert", wait_on_retry_after)
    [report] = world.coupler.sync_modified()

    assert isinstance(second.get("error"), MappingBusy), second
    assert "CUSTOMER is being synchronized by another run (job " in second["error"].message
    assert report.ok and report.job.counters.inserted == 3
    assert accounts(world) == CUSTOMERS
    assert len(renewals) == 3 and renewals == sorted(set(renewals)), "renewed while the job was waiting"
    assert world.store.cursors.locks() == []
    for _ in range(100):
        if not [t for t in threading.enumerate() if t.name.startswith("coupler lock")]:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the heartbeat still runs after the job finished")


class Unreachable:
    """A state store's cursors whose lock renewals fail (the database does not answer); everything else works."""

    def __init__(self, cursors: Any) -> None:
        self.cursors, self.down = cursors, False

    def renew_lock(self, name: str, owner: str, *, until: datetime) -> bool:
        if self.down:
            raise RetryableConnectorError("the state store does not answer")
        result: bool = self.cursors.renew_lock(name, owner, until=until)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursors, name)


def test_a_run_that_cannot_renew_its_lock_for_as_long_as_it_lives_stops_before_writing(world: World) -> None:
    clock = ManualClock()
    cursors = Unreachable(world.store.cursors)
    lease = Lease(cursors, mapping="CUSTOMER", owner="job-1", clock=clock)  # type: ignore[arg-type]
    lease.take()
    try:
        cursors.down = True
        clock.advance(LOCK_TTL / 2)
        lease.check()  # due for renewal, which fails: the lock still has time left
        clock.advance(LOCK_TTL / 2 + timedelta(seconds=1))
        with pytest.raises(LockLost, match=r"could not be renewed for 5 minutes .*does not answer"):
            lease.check()
        cursors.down = False
        with pytest.raises(LockLost):
            lease.check()  # lost for good: the run has stopped, it does not take up writing again
    finally:
        lease.release()


def test_a_run_whose_lock_expired_unnoticed_but_was_not_taken_goes_on(world: World) -> None:
    """No heartbeat ran (a suspended process, a clock jump), but no other run took the lock meanwhile: the renewal
    before the next write finds the lock still this run's, so nothing else can have written."""
    clock = ManualClock()
    lease = Lease(world.store.cursors, mapping="CUSTOMER", owner="job-1", clock=clock)
    lease.take()
    try:
        clock.advance(LOCK_TTL * 3)
        lease.check()
        [lock] = world.store.cursors.locks()
        assert lock.until == clock.now + LOCK_TTL
    finally:
        lease.release()


def test_a_job_dropped_without_finishing_stops_renewing_its_lock(world: World) -> None:
    recorder = JobRecorder.start(world.coupler.systems, mapping="CUSTOMER", kind=JobKind.MANUAL, direction="-")
    lease = recorder.lease
    del recorder
    assert lease._stop.is_set(), "collected unfinished: the heartbeat no longer keeps the lock"
    lease.release()


# a run that died ---------------------------------------------------------------------------------------------------
def killed_run(world: World, **counters: int) -> str:
    """A job that saved some progress, then its process died holding the mapping's lock; its job id."""
    recorder = JobRecorder.start(world.coupler.systems, mapping="CUSTOMER", kind=JobKind.INCREMENTAL, direction="-")
    for name, value in counters.items():
        setattr(recorder.counters, name, value)
    recorder.flush()
    recorder.lease.stop_renewing()  # kill -9: nothing runs any more, not even a finally block
    return recorder.job.id


def test_the_job_of_a_run_that_died_is_closed_when_the_next_run_takes_over_its_expired_lock(world: World) -> None:
    clock = ManualClock()
    world.coupler.systems.clock = clock
    dead = killed_run(world, modified=2)
    [lock] = world.store.cursors.locks()
    with pytest.raises(MappingBusy, match=f"CUSTOMER is being synchronized by another run \\(job {dead}, on host "):
        world.coupler.sync_modified()

    clock.advance(LOCK_TTL + timedelta(seconds=1))
    [report] = world.coupler.sync_modified()

    closed = world.store.jobs.get(dead)
    assert closed is not None and closed.finished_at == lock.until, "stopped when its lock ran out, at the latest"
    assert (
        closed.message == f"Stopped before the end: the process ended (its lock expired at {format_iso(lock.until)})."
    )
    assert closed.counters.modified == 2, "the counters it saved"
    assert report.job.finished_at is not None and report.job.message is None


def test_unlock_releases_a_dead_run_s_lock_and_refuses_a_live_one_unless_forced(world: World) -> None:
    store, now = world.store, datetime.now(UTC)
    store.cursors.acquire_lock(
        "mapping:CUSTOMER", "job-elsewhere", until=now + LOCK_TTL, now=now, host="erp-2", pid=4242
    )
    with pytest.raises(MappingBusy, match=r"process 4242 on erp-2: coupler cannot tell from here whether it is"):
        world.coupler.unlock("CUSTOMER")
    [status] = world.coupler.locks()
    assert (status.mapping, status.state, status.alive, status.job) == ("CUSTOMER", "held", None, None)

    released = world.coupler.unlock("customer", force=True)
    assert released is not None and released.lock.owner == "job-elsewhere"
    assert world.coupler.locks() == [] and world.coupler.unlock("CUSTOMER") is None

    dead = killed_run(world)
    world.store.cursors.release_lock("mapping:CUSTOMER", dead)
    store.cursors.acquire_lock(
        "mapping:CUSTOMER", dead, until=now + LOCK_TTL, now=now, host=socket.gethostname(), pid=dead_pid()
    )
    [status] = world.coupler.locks()
    assert (status.state, status.alive) == ("owner gone", False)
    released = world.coupler.unlock("CUSTOMER")
    assert released is not None and released.job is not None and released.job.finished_at is not None
    assert released.job.message is not None
    assert released.job.message.startswith("Stopped before the end: the process ended (its lock was released by an")


def dead_pid() -> int:
    """The id of a process of this machine that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_leased_connector_forwards_every_method_of_the_port() -> None:
    """A port method a wrapper does not override would run the port's default instead of the connector's own
    (Business Central's alternate key, say): the forwarding base hands every public method of the port on."""
    import inspect

    from coupler.ports.connector import Connector, ForwardingConnector
    from coupler.services.lease import LeasedConnector

    port = {name for name, _ in inspect.getmembers(Connector, inspect.isfunction) if not name.startswith("_")}
    assert port - set(ForwardingConnector.__dict__) == set()
    assert issubclass(LeasedConnector, ForwardingConnector)

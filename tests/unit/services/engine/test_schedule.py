"""Scheduled synchronization over in-memory fakes: rounds at an interval, busy and failing mappings, clean stops."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.errors import RetryableConnectorError, UnknownMapping, UsageError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, FieldMapping, TableMapping, TableSpec
from coupler.domain.records import RecordUpdate, WriteResult
from coupler.domain.timeutil import utcnow
from coupler.ports.connector import ColumnInfo
from coupler.services.api import Coupler
from coupler.services.context import Systems
from coupler.services.engine.recorder import JobRecorder
from coupler.services.engine.schedule import MappingRun, Outcome, Round, Scheduler, run_once
from coupler.services.engine.synchronize import Synchronizer
from unit.services.conftest import World, customer_mapping, make_world

VENDOR = TableMapping(
    name="VENDOR",
    local=TableSpec(table="vendors", key="id", display_key="number", modified_on="lastModifiedDateTime"),
    integration=TableSpec(table="supplier", key="supplierid", display_key="name", modified_on="modifiedon"),
    direction=Direction.TO_INTEGRATION,
    fields=(FieldMapping(local="displayName", integration="name", direction=Direction.TO_INTEGRATION),),
    sync_only_coupled=False,
)


class FakeClock:
    """Virtual time: it moves only when the scheduler waits (and by a millisecond per reading, as time does)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class FakeEvent(threading.Event):
    """A stop event whose waits return at once, advancing the fake clock; it sets itself after ``stop_after``
    waits, as a Ctrl-C arriving during a pause would."""

    def __init__(self, clock: FakeClock, *, stop_after: int | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.stop_after = stop_after
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None, "the scheduler always waits for a bounded time"
        self.waits.append(timeout)
        self.clock.now += timedelta(seconds=timeout)
        if self.stop_after is not None and len(self.waits) >= self.stop_after:
            self.set()
        return self.is_set()


class Crm(InMemoryConnector):
    """The CRM fake, with two faults to switch on: the supplier table unreachable, and a stop requested while a
    page of updates is being written (as a signal arriving mid-page)."""

    def __init__(self) -> None:
        super().__init__(display_name="CRM")
        self.suppliers_down = False
        self.stop_while_writing: threading.Event | None = None
        self.updates: list[int] = []

    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        if self.suppliers_down and table == "supplier":
            raise RetryableConnectorError("CRM: the supplier endpoint does not answer")
        return super().describe(table)

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        if self.stop_while_writing is not None:
            self.stop_while_writing.set()
        self.updates.append(len(updates))
        return super().update(spec, updates)


@dataclass
class Setup:
    world: World
    crm: Crm
    clock: FakeClock
    systems: Systems
    rounds: list[Round] = field(default_factory=list)

    def vendor(self, number: str, name: str) -> str:
        return self.world.erp.put("vendors", {"number": number, "displayName": name})

    def suppliers(self) -> list[str]:
        return sorted(r["name"] for r in self.crm.rows("supplier"))

    def rename_customers(self, keys: Sequence[str], suffix: str) -> None:
        for key in keys:
            self.world.erp.put(
                "customers", {"id": key, "displayName": f"{self.world.local_row(key)['number']}{suffix}"}
            )

    def account_names(self) -> list[str]:
        return sorted(r["name"] for r in self.crm.rows("account"))


@pytest.fixture
def setup() -> Setup:
    """CUSTOMER (coupled records only) depends on VENDOR (creates suppliers); batches of 3 records."""
    customer = replace(customer_mapping(), depends_on=("VENDOR",))
    world = make_world(customer)
    world.erp.add_table("vendors", "id", ["number", "displayName"], modified_on="lastModifiedDateTime")
    crm = Crm()
    crm.add_table("account", "accountid", ["name", "telephone1", "creditlimit", "customertypecode", "websiteurl",
                                          "statecode"], modified_on="modifiedon")  # fmt: skip
    crm.add_table("supplier", "supplierid", ["name"], modified_on="modifiedon")
    clock = FakeClock()
    systems = replace(world.coupler.systems, integration=crm, mappings=[customer, VENDOR], clock=clock)
    return Setup(world=world, crm=crm, clock=clock, systems=systems)


def coupled_customers(setup: Setup, count: int) -> list[str]:
    keys = [setup.world.customer(f"C{n:03d}") for n in range(count)]
    report = Synchronizer(setup.systems).sync_full("CUSTOMER")
    assert report.ok and report.job.counters.inserted == count, report.errors
    return keys


def by_mapping(runs: Sequence[MappingRun]) -> dict[str, MappingRun]:
    return {run.mapping: run for run in runs}


def counters(run: MappingRun) -> dict[str, int]:
    assert run.report is not None, run
    return run.report.job.counters.as_dict()


# rounds -----------------------------------------------------------------------------------------------------------
def test_a_round_runs_every_mapping_in_dependency_order(setup: Setup) -> None:
    setup.vendor("V1", "Fabrikam Supplies")
    runs = run_once(setup.systems)
    assert [(r.mapping, r.outcome) for r in runs] == [("VENDOR", Outcome.DONE), ("CUSTOMER", Outcome.DONE)]
    assert counters(runs[0])["inserted"] == 1
    assert all(r.report is not None and r.report.job.kind is JobKind.INCREMENTAL for r in runs)
    assert setup.suppliers() == ["Fabrikam Supplies"]
    assert [r.mapping for r in run_once(setup.systems, ["customer"])] == ["CUSTOMER"], "names are case-insensitive"


def test_the_scheduler_runs_rounds_at_the_interval_and_each_picks_up_new_changes(setup: Setup) -> None:
    stop = FakeEvent(setup.clock)

    def changes_between_rounds(done: Round) -> None:
        setup.rounds.append(done)
        setup.vendor(f"V{done.number}", f"Vendor {done.number}")

    setup.vendor("V0", "Vendor 0")
    scheduler = Scheduler(systems=setup.systems, on_round=changes_between_rounds)
    assert scheduler.run(timedelta(minutes=5), stop=stop, rounds=3) == 3

    assert [r.number for r in setup.rounds] == [1, 2, 3]
    assert stop.waits == [300.0, 300.0], "a wait between rounds, none after the last"
    inserted = [counters(by_mapping(r.runs)["VENDOR"])["inserted"] for r in setup.rounds]
    assert inserted == [1, 1, 1], "each round synchronizes what changed since the one before"
    assert setup.suppliers() == ["Vendor 0", "Vendor 1", "Vendor 2"]
    for before, after in zip(setup.rounds, setup.rounds[1:], strict=False):
        assert after.started_at - before.finished_at >= timedelta(minutes=5)
    assert all(r.ok and not r.stopped for r in setup.rounds)


def test_the_scheduler_runs_until_stopped_and_a_stop_cuts_the_wait_short(setup: Setup) -> None:
    stop = FakeEvent(setup.clock, stop_after=2)
    rounds = Scheduler(systems=setup.systems, on_round=setup.rounds.append).run(timedelta(seconds=30), stop=stop)
    assert rounds == 2 and len(setup.rounds) == 2
    assert stop.waits == [30.0, 30.0]
    stop = FakeEvent(setup.clock)
    stop.set()
    assert Scheduler(systems=setup.systems).run(timedelta(seconds=30), stop=stop) == 0, "stopped before it began"
    assert run_once(setup.systems, stop=stop) == [], "a round asked to stop starts no mapping"


def test_the_scheduler_refuses_a_bad_interval_or_an_unknown_mapping_before_any_round(setup: Setup) -> None:
    stop = FakeEvent(setup.clock)
    with pytest.raises(UsageError, match="longer than zero"):
        Scheduler(systems=setup.systems).run(timedelta(0), stop=stop)
    with pytest.raises(UnknownMapping, match="No table mapping is named 'nope'"):
        Scheduler(systems=setup.systems, names=["nope"]).run(timedelta(seconds=1), stop=stop)
    assert setup.systems.store.jobs.recent() == []


# busy and failing mappings ----------------------------------------------------------------------------------------
def test_a_mapping_another_run_holds_is_busy_and_skipped_while_the_others_run(setup: Setup) -> None:
    [key] = coupled_customers(setup, 1)
    other = JobRecorder.start(setup.systems, mapping="CUSTOMER", kind=JobKind.MANUAL, direction="-")
    setup.rename_customers([key], " renamed")
    setup.vendor("V1", "Vendor 1")

    busy = by_mapping(run_once(setup.systems))
    assert busy["CUSTOMER"].outcome is Outcome.BUSY and busy["CUSTOMER"].report is None
    message = busy["CUSTOMER"].message
    assert message is not None and "CUSTOMER is being synchronized by another run" in message
    assert busy["CUSTOMER"].ok, "busy is not a failure: the other run does the work"
    assert busy["VENDOR"].outcome is Outcome.DONE and counters(busy["VENDOR"])["inserted"] == 1
    assert setup.account_names() == ["Customer C000"], "nothing written while the other run holds the mapping"
    jobs = setup.systems.store.jobs.recent(mapping="CUSTOMER")
    assert [j.kind for j in jobs] == [JobKind.MANUAL, JobKind.FULL], "a busy turn records no job"

    other.finish()
    free = by_mapping(run_once(setup.systems))
    assert free["CUSTOMER"].outcome is Outcome.DONE and counters(free["CUSTOMER"])["modified"] == 1
    assert setup.account_names() == ["C000 renamed"]


def test_a_failing_mapping_is_reported_and_the_next_mapping_still_runs(setup: Setup) -> None:
    [key] = coupled_customers(setup, 1)
    setup.vendor("V1", "Vendor 1")
    setup.rename_customers([key], " renamed")
    setup.crm.suppliers_down = True

    runs = by_mapping(run_once(setup.systems))
    assert runs["VENDOR"].outcome is Outcome.FAILED and not runs["VENDOR"].ok
    assert runs["VENDOR"].message == "CRM: the supplier endpoint does not answer"
    assert runs["CUSTOMER"].outcome is Outcome.DONE and counters(runs["CUSTOMER"])["modified"] == 1
    [failed] = setup.systems.store.jobs.recent(mapping="VENDOR")
    assert runs["VENDOR"].report is not None and runs["VENDOR"].report.job == failed
    assert failed.finished_at is not None and failed.message is not None
    assert failed.message.startswith("Stopped before the end: CRM: the supplier endpoint")
    assert setup.systems.store.cursors.acquire_lock(
        "mapping:VENDOR", "someone else", until=setup.clock.now, now=setup.clock.now
    )
    setup.systems.store.cursors.release_lock("mapping:VENDOR", "someone else")

    setup.crm.suppliers_down = False
    again = by_mapping(run_once(setup.systems))
    assert counters(again["VENDOR"])["inserted"] == 1, "the next round catches up"
    assert setup.suppliers() == ["Vendor 1"]


class UnreachableStore(InMemoryStateStore):
    """A state store that has gone away: every job fails to start."""

    def __init__(self) -> None:
        super().__init__()
        self.cursors.acquire_lock = self.jobs.recent = _unreachable  # type: ignore[method-assign]


def _unreachable(*args: object, **kwargs: object) -> Any:
    raise RetryableConnectorError("the state store does not answer")


def test_an_unreachable_state_store_fails_every_mapping_and_the_scheduler_keeps_going(setup: Setup) -> None:
    systems = replace(setup.systems, store=UnreachableStore())
    stop = FakeEvent(setup.clock)
    Scheduler(systems=systems, on_round=setup.rounds.append).run(timedelta(minutes=1), stop=stop, rounds=2)
    assert [[(r.mapping, r.outcome, r.report) for r in done.runs] for done in setup.rounds] == 2 * [
        [("VENDOR", Outcome.FAILED, None), ("CUSTOMER", Outcome.FAILED, None)]
    ]
    assert all(not done.ok for done in setup.rounds)
    assert {r.message for done in setup.rounds for r in done.runs} == {"the state store does not answer"}


# a clean stop -----------------------------------------------------------------------------------------------------
def test_a_stop_finishes_the_page_in_hand_then_the_next_run_completes_the_rest(setup: Setup) -> None:
    keys = coupled_customers(setup, 7)
    setup.rename_customers(keys, " renamed")
    stop = threading.Event()
    setup.crm.stop_while_writing = stop  # Ctrl-C arrives while the first page (3 records) is being written

    runs = by_mapping(run_once(setup.systems, stop=stop))
    setup.crm.stop_while_writing = None
    assert runs["VENDOR"].outcome is Outcome.DONE
    stopped = runs["CUSTOMER"]
    assert stopped.outcome is Outcome.STOPPED and not stopped.ok
    assert stopped.message is not None and "stop was requested" in stopped.message
    assert setup.crm.updates == [3], "one page written, whole"
    renamed = [name for name in setup.account_names() if name.endswith(" renamed")]
    assert len(renamed) == 3
    job = setup.systems.store.jobs.recent(mapping="CUSTOMER")[0]
    assert stopped.report is not None and stopped.report.job == job, "the round reports the job it closed"
    assert job.kind is JobKind.INCREMENTAL and job.finished_at is not None and job.counters.modified == 3
    assert job.message == (
        "Stopped before the end: A stop was requested: the page in hand was finished; the next run continues."
    )
    now = setup.clock()
    assert setup.systems.store.cursors.acquire_lock("mapping:CUSTOMER", "next run", until=now, now=now), "lock released"
    setup.systems.store.cursors.release_lock("mapping:CUSTOMER", "next run")

    rest = by_mapping(run_once(setup.systems))
    assert rest["CUSTOMER"].outcome is Outcome.DONE
    assert counters(rest["CUSTOMER"])["modified"] == 4, "the rest, and nothing written twice"
    assert setup.account_names() == sorted(f"C{n:03d} renamed" for n in range(7))
    assert counters(by_mapping(run_once(setup.systems))["CUSTOMER"])["modified"] == 0


def test_the_python_api_runs_rounds_too(setup: Setup) -> None:
    coupler = Coupler(setup.systems)
    setup.vendor("V1", "Vendor 1")
    assert [r.outcome for r in coupler.run_once(["VENDOR"])] == [Outcome.DONE]
    seen: list[Any] = []
    setup.vendor("V2", "Vendor 2")
    assert coupler.schedule(timedelta(seconds=1), stop=FakeEvent(setup.clock), rounds=2, on_round=seen.append) == 2
    assert [counters(by_mapping(r.runs)["VENDOR"])["inserted"] for r in seen] == [1, 0]


def test_a_disabled_connection_runs_no_job_and_says_so_in_the_systems_names() -> None:
    from dataclasses import replace as _replace

    from coupler.domain.errors import ConnectionDisabled
    from coupler.services.api import Coupler
    from coupler.services.engine.schedule import Outcome, run_once
    from unit.services.conftest import customer_mapping, make_world

    world = make_world(customer_mapping())
    world.customer("C001")
    systems = _replace(world.coupler.systems, enabled=lambda: False)
    runs = run_once(systems)
    assert [(r.outcome, r.ok) for r in runs] == [(Outcome.DISABLED, True)]
    assert runs[0].message is not None and "between ERP and CRM is disabled" in runs[0].message
    with pytest.raises(ConnectionDisabled, match="between ERP and CRM is disabled"):
        Coupler(systems).sync_full("CUSTOMER", force=True)
    with pytest.raises(ConnectionDisabled):
        Coupler(systems).match("CUSTOMER", groups=[["displayName"]])
    assert not world.store.jobs.recent(limit=5), "no job was started"
    assert world.crm.rows("account") == []

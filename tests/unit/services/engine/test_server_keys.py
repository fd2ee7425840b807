"""Creating records where the target system assigns the keys (as Business Central does): coupler cannot choose
the key in advance, so its intent names a value the created record is found again by (the table's alternate key,
else a match field). A creation whose answer never came, or a run killed before coupling, is recovered by that
value: never created twice, never coupled to another record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.errors import RetryableConnectorError
from coupler.domain.mapping import Direction, FieldMapping, Side, TableMapping, TableSpec
from coupler.domain.records import WriteResult
from coupler.domain.state import NO_CHANGES, FindAgain, StateChanges
from coupler.services.api import Coupler
from coupler.services.context import Systems
from coupler.services.views.check import unsafe_creations

FROM = Direction.FROM_INTEGRATION


def _mapping(*, match: bool = True, number: bool = False, alternate_key: str | None = None) -> TableMapping:
    """Accounts -> customers: the ERP assigns a customer's id."""
    fields = [
        FieldMapping(local="displayName", integration="name", direction=FROM, match_priority=1 if match else None),
        FieldMapping(local="city", integration="address1_city", direction=FROM),
    ]
    if number:
        fields.append(FieldMapping(local="number", integration="accountnumber", direction=FROM))
    return TableMapping(
        name="CUSTOMER",
        local=TableSpec(
            table="customers", key="id", display_key="number", modified_on="modified", alternate_key=alternate_key
        ),
        integration=TableSpec(table="account", key="accountid", display_key="name", modified_on="modifiedon"),
        direction=FROM,
        fields=tuple(fields),
        sync_only_coupled=False,
    )


class LosingAnswers(InMemoryConnector):
    """Creates the records, and loses the answer of the inserts numbered in ``unanswered`` (counted from 0), as a
    dropped connection would."""

    unanswered: frozenset[int] = frozenset()
    failing: frozenset[str] = frozenset()
    """Names of records created, yet answered with an error (a 504 for one request of a batch, say)."""
    inserts = 0

    def insert(self, spec: TableSpec, rows: Sequence[dict[str, Any]]) -> list[WriteResult]:  # type: ignore[override]
        results = super().insert(spec, rows)
        self.inserts += 1
        if self.inserts - 1 in self.unanswered:
            raise RetryableConnectorError("ERP: creating records in customers failed after 1 attempt(s): dropped")
        return [
            WriteResult(index=r.index, error="504 Gateway Timeout", retryable=True)
            if row.get("displayName") in self.failing
            else r
            for r, row in zip(results, rows, strict=True)
        ]


class World:
    def __init__(self, mapping: TableMapping) -> None:
        self.erp = LosingAnswers(display_name="ERP")
        self.erp.add_table(
            "customers", "id", ["number", "displayName", "city"], modified_on="modified", server_keys=True
        )
        self.crm = InMemoryConnector(display_name="CRM")
        self.crm.add_table("account", "accountid", ["name", "address1_city", "accountnumber"], modified_on="modifiedon")
        self.store = InMemoryStateStore()
        self.systems = Systems(
            local=self.erp, integration=self.crm, store=self.store, mappings=[mapping], batch_size=3, overlap_ms=1000
        )
        self.coupler = Coupler(self.systems)

    def customers(self) -> list[dict[str, Any]]:
        return self.erp.rows("customers")

    def couplings(self) -> dict[str, str]:
        return {c.integration_key: c.local_key for c in self.store.couplings.page("CUSTOMER", limit=1000)}


def _accounts(world: World, count: int, **values: Any) -> list[str]:
    return [world.crm.put("account", {"name": f"Account {n}", "address1_city": "Oslo", **values}) for n in range(count)]


def _interrupted(world: World, *, unanswered: int = 0) -> None:
    world.erp.unanswered = frozenset({world.erp.inserts + unanswered})
    with pytest.raises(RetryableConnectorError):
        world.coupler.sync_full("CUSTOMER", force=True)


def test_records_whose_creation_went_unanswered_are_found_by_a_match_field_and_coupled() -> None:
    world = World(_mapping())
    accounts = _accounts(world, 7)  # pages of three: the second page's answer is lost
    _interrupted(world, unanswered=1)
    assert len(world.customers()) == 6 and len(world.couplings()) == 3, "the second page was created, not coupled"

    report = world.coupler.sync_full("CUSTOMER")
    assert report.ok, report.errors
    assert len(world.customers()) == 7, "no record created twice"
    assert sorted(world.couplings()) == sorted(accounts)
    assert report.job.counters.inserted == 1 and report.job.counters.coupled == 4
    assert "3 record(s) created by an interrupted run were found and coupled" in (report.job.message or "")
    assert world.store.cursors.intents("CUSTOMER", FROM) == []


def test_a_record_found_by_a_match_field_must_hold_every_value_sent() -> None:
    """An uncoupled customer of the same name that was there before is not taken for the one coupler created."""
    world = World(_mapping())
    older = world.erp.put("customers", {"displayName": "Account 0", "city": "Bergen", "number": "OLD"})
    [account] = _accounts(world, 1)
    _interrupted(world)
    world.coupler.sync_full("CUSTOMER")
    created = next(r["id"] for r in world.customers() if r["id"] != older)
    assert len(world.customers()) == 2
    assert world.couplings() == {account: created}


def test_a_record_found_by_its_alternate_key_is_coupled_even_when_edited_since() -> None:
    world = World(_mapping(number=True, alternate_key="number"))
    accounts = [world.crm.put("account", {"name": f"Account {n}", "accountnumber": f"C{n:03}"}) for n in range(2)]
    _interrupted(world)
    [first, *_] = world.customers()
    world.erp.put("customers", {**first, "city": "Edited by a user"})  # between the lost answer and the next run
    world.coupler.sync_full("CUSTOMER")
    assert len(world.customers()) == 2
    by_number = {r["number"]: r["id"] for r in world.customers()}
    assert world.couplings() == {accounts[0]: by_number["C000"], accounts[1]: by_number["C001"]}


def test_a_run_killed_after_creating_couples_the_records_next_time(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(_mapping())
    _accounts(world, 3)
    save = world.store.save

    def killed(changes: StateChanges = NO_CHANGES, **log: Any) -> None:
        if changes.new_couplings:
            raise KeyboardInterrupt
        save(changes, **log)

    with monkeypatch.context() as patch:
        patch.setattr(world.store, "save", killed)
        with pytest.raises(KeyboardInterrupt):
            world.coupler.sync_full("CUSTOMER")
    assert len(world.customers()) == 3 and world.couplings() == {}
    world.coupler.sync_full("CUSTOMER")
    assert len(world.customers()) == 3 and len(world.couplings()) == 3


def test_intents_of_records_never_created_are_dropped_and_the_records_created_once() -> None:
    world = World(_mapping())
    _accounts(world, 2)
    world.erp.down = True
    with pytest.raises(RetryableConnectorError):
        world.coupler.sync_full("CUSTOMER")
    world.erp.down = False
    report = world.coupler.sync_full("CUSTOMER")
    assert report.job.counters.inserted == 2 and len(world.customers()) == 2 and len(world.couplings()) == 2


def test_the_intent_names_the_alternate_key_first_then_a_match_field() -> None:
    assert FindAgain.choose({"number": "C1", "name": "A"}, alternate_key="number", match_fields=["name"]) == (
        FindAgain(field="number", value="C1", unique=True)
    )
    assert FindAgain.choose({"number": " ", "name": "A"}, alternate_key="number", match_fields=["name"]) == (
        FindAgain(field="name", value="A")
    )
    assert FindAgain.choose({"name": None, "code": 7}, alternate_key=None, match_fields=["name", "code"]) == (
        FindAgain(field="code", value=7)
    )
    assert FindAgain.choose({"name": 1.5, "flag": True}, alternate_key=None, match_fields=["name", "flag"]) is None
    by_name = FindAgain(field="name", value="A")
    assert by_name.holds({"name": "a", "city": "OSLO"}, {"name": "A", "city": "Oslo"}), "text ignores case"
    assert not by_name.holds({"name": "A", "city": "Bergen"}, {"name": "A", "city": "Oslo"})
    assert FindAgain(field="number", value="C1", unique=True).holds({"number": "C1", "city": "B"}, {"city": "O"})


def test_check_warns_where_creations_cannot_be_made_safe_to_repeat() -> None:
    unsafe = World(_mapping(match=False))
    [warning] = unsafe_creations(unsafe.systems, "coupler.toml")
    assert "mapping CUSTOMER, from-integration: ERP assigns the keys of 'customers'" in warning
    assert "it has no alternate key" in warning and "may create them twice" in warning
    unmapped = World(replace(_mapping(match=False), local=replace(_mapping().local, alternate_key="number")))
    [warning] = unsafe_creations(unmapped.systems, "coupler.toml")
    assert "its alternate key 'number' is not mapped" in warning
    assert unsafe_creations(World(_mapping(match=False, number=True, alternate_key="number")).systems, "x") == []
    assert unsafe_creations(World(_mapping()).systems, "x") == []


def test_creating_one_record_by_hand_first_recovers_what_an_interrupted_run_created() -> None:
    world = World(_mapping())
    [account] = _accounts(world, 1)
    _interrupted(world)
    report = world.coupler.create("CUSTOMER", account, source=Side.INTEGRATION)
    assert report.ok and len(world.customers()) == 1
    assert world.couplings() == {account: world.customers()[0]["id"]}
    assert "found and coupled, not created again" in (report.job.message or "")


def test_a_creation_answered_with_an_error_is_read_back_before_it_is_made_again() -> None:
    world = World(_mapping())
    accounts = _accounts(world, 3)
    world.erp.failing = frozenset({"Account 1"})
    first = world.coupler.sync_full("CUSTOMER")
    assert first.job.counters.failed == 1 and len(world.customers()) == 3 and len(world.couplings()) == 2
    assert [i.source_key for i in world.store.cursors.intents("CUSTOMER", FROM)] == [accounts[1]], (
        "the failure's is kept"
    )
    world.erp.failing = frozenset()
    world.coupler.sync_modified()
    assert len(world.customers()) == 3, "the record the error answer hid was found, not created again"
    assert sorted(world.couplings()) == sorted(accounts)
    assert world.store.cursors.intents("CUSTOMER", FROM) == []


def test_a_creation_refused_outright_is_made_on_the_next_attempt() -> None:
    world = World(_mapping())
    world.erp.add_table(
        "customers",
        "id",
        ["number", "displayName", "city"],
        modified_on="modified",
        server_keys=True,
        constraints={"city": lambda city: "no such city" if city == "Nowhere" else None},
    )
    [account] = _accounts(world, 1, address1_city="Nowhere")
    assert world.coupler.sync_full("CUSTOMER").job.counters.failed == 1 and world.customers() == []
    world.crm.put("account", {**world.crm.rows("account")[0], "address1_city": "Oslo"})
    report = world.coupler.sync_modified()[0]
    assert report.job.counters.inserted == 1 and world.couplings() == {account: world.customers()[0]["id"]}
    assert "found and coupled" not in (report.job.message or "")


class SqlLosingAnswers(SqlConnector):
    """A database that numbers its customers itself; the answer of the first insert is lost."""

    lost = False

    def insert(self, spec: TableSpec, rows: Sequence[dict[str, Any]]) -> list[WriteResult]:  # type: ignore[override]
        results = super().insert(spec, rows)
        if not self.lost:
            self.lost = True
            raise RetryableConnectorError("ERP: the connection dropped after the commit")
        return results


def test_a_database_that_numbers_its_rows_finds_them_again_by_their_unique_column(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, "
            "displayName TEXT, city TEXT, modified TEXT)"
        )
    erp = SqlLosingAnswers(engine, display_name="ERP")
    crm = InMemoryConnector(display_name="CRM")
    crm.add_table("account", "accountid", ["name", "address1_city", "accountnumber"], modified_on="modifiedon")
    accounts = [crm.put("account", {"name": f"Account {n}", "accountnumber": f"C{n:03}"}) for n in range(4)]
    mapping = _mapping(match=False, number=True)  # no match field: the unique number is what finds a row again
    store = InMemoryStateStore()
    coupler = Coupler(Systems(local=erp, integration=crm, store=store, mappings=[mapping], batch_size=10))
    assert erp.alternate_key(mapping.local) == "number" and unsafe_creations(coupler.systems, "x") == []

    with pytest.raises(RetryableConnectorError):
        coupler.sync_full("CUSTOMER")
    coupler.sync_full("CUSTOMER")

    with engine.connect() as conn:
        rows = {number: key for key, number in conn.exec_driver_sql("SELECT id, number FROM customers")}
    assert len(rows) == 4, "no row created twice"
    couplings = {c.integration_key: c.local_key for c in store.couplings.page("CUSTOMER", limit=10)}
    assert couplings == {account: str(rows[f"C{n:03}"]) for n, account in enumerate(accounts)}
    engine.dispose()

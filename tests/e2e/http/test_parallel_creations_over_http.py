"""Creations in Dataverse sent in parallel (CreateMultiple requests of 6 accounts, up to the 4 requests in flight the
service recommends), the process crashing while some are under way: some accounts created, others not. Re-runs
never create an account twice (the keys were chosen, and the intents recorded, before any request went out) and
couple every new customer to its account."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.connectors.dataverse import DataverseConnector
from coupler.domain.mapping import Side
from coupler.testing import ServiceModel

from .support import HttpDemo, query

CREATING = r"(?s)^POST \S*CreateMultiple\n"
NEW = [f"Parallel Outfitters {n:02}" for n in range(30)]


def _add_customers(erp: Path, names: list[str]) -> None:
    """Customers that exist in Business Central only, copies of a demo customer under new numbers and names."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with closing(sqlite3.connect(erp, timeout=30)) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(customers)")]
        template = dict(
            zip(columns, connection.execute("SELECT * FROM customers WHERE number = 'C00010'").fetchone(), strict=True)
        )
        rows = [
            {**template, "id": str(uuid.uuid4()), "number": f"PX{n:03}", "displayName": name, "email": None}
            | {"lastModifiedDateTime": stamp}
            for n, name in enumerate(names)
        ]
        marks = ", ".join("?" for _ in columns)
        connection.executemany(f"INSERT INTO customers VALUES ({marks})", [[r[c] for c in columns] for r in rows])
        connection.commit()


def _creating_six_per_request(demo: HttpDemo) -> None:
    text = demo.config.read_text(encoding="utf-8")
    section = text.index("[integration]")
    end = text.index("\n\n", section)
    demo.config.write_text(text[:end] + "\nbatch_size = 6" + text[end:], encoding="utf-8")


class Crash(Exception):
    """Stands for the process dying: not an error coupler knows."""


def test_a_crash_among_parallel_creations_never_makes_an_account_twice(
    start_demo: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ServiceModel.dataverse(per_request=0.05, dop_hint=4)
    demo: HttpDemo = start_demo(wrap_crm=model.wrap)  # type: ignore[operator]
    _creating_six_per_request(demo)
    _add_customers(demo.erp, NEW)
    lock, calls = threading.Lock(), [0]
    create = DataverseConnector._create_isolating

    def crashing(self: DataverseConnector, *args: Any, **kwargs: Any) -> None:
        with lock:
            calls[0] += 1
            crash = calls[0] == 3  # the third CreateMultiple, while others are in flight
        if crash:
            raise Crash("the process died")
        create(self, *args, **kwargs)

    with demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY", sync_after=Side.LOCAL)
        coupler.sync_full("CURRENCY")
        coupler.match("CUSTOMER")  # the customers both systems hold; the new ones stay uncoupled
        model.reset()
        monkeypatch.setattr(DataverseConnector, "_create_isolating", crashing)
        with pytest.raises(Crash):
            coupler.sync_full("CUSTOMER")
        monkeypatch.setattr(DataverseConnector, "_create_isolating", create)
        assert model.peak_in_flight > 1, "the creations went out in parallel"
    created_before = query(demo.crm, "SELECT count(*) AS n FROM account")[0]["n"]
    with demo.open() as coupler:  # a new process
        again = [coupler.sync_full("CUSTOMER") for _ in range(2)]
    assert query(demo.crm, "SELECT count(*) AS n FROM account")[0]["n"] > created_before, "the rest was created"

    accounts = query(demo.crm, "SELECT name, count(*) AS c FROM account GROUP BY lower(name) HAVING c > 1")
    assert accounts == [], "no account was created twice"
    assert again[-1].job.counters.as_dict()["inserted"] == 0, "the second re-run found nothing left to create"
    customers = {r["displayName"]: r["id"] for r in query(demo.erp, "SELECT id, displayName FROM customers")}
    created = {r["name"]: r["accountid"] for r in query(demo.crm, "SELECT accountid, name FROM account")}
    state = demo.directory / "coupler-state.db"
    couplings = query(state, "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    pairs = {(c["local_key"], c["integration_key"]) for c in couplings}
    assert {(customers[name], created[name]) for name in NEW} <= pairs, "each new customer is coupled to its account"


def test_parallel_creations_whose_answer_is_lost_are_never_made_twice(start_demo: object) -> None:
    """One CreateMultiple among those in flight is carried out but its answer lost; sent again, its accounts are
    refused as duplicates (the keys were chosen in advance). The second pass of the same run, which reads the
    accounts back, must not take them for new accounts (it would create customers for them); later runs couple
    them to their customers."""
    model = ServiceModel.dataverse(per_request=0.05, dop_hint=4)
    demo: HttpDemo = start_demo(wrap_crm=model.wrap)  # type: ignore[operator]
    _creating_six_per_request(demo)
    _add_customers(demo.erp, NEW)
    with demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY", sync_after=Side.LOCAL)
        coupler.sync_full("CURRENCY")
        coupler.match("CUSTOMER")
        model.reset()
        demo.dv_faults.aim("drop-answer", matching=CREATING, skip=2)
        first = coupler.sync_full("CUSTOMER")
        assert demo.dv_faults.injected["drop-answer"] == 1 and model.peak_in_flight > 1
        assert first.job.counters.failed >= 6, "the accounts of the lost answer, refused as duplicates when resent"
        again = [coupler.sync_full("CUSTOMER") for _ in range(2)]

    accounts = query(demo.crm, "SELECT name, count(*) AS c FROM account GROUP BY lower(name) HAVING c > 1")
    customers = query(demo.erp, "SELECT displayName, count(*) AS c FROM customers GROUP BY displayName HAVING c > 1")
    assert accounts == [] and customers == [], "no account and no customer was created twice"
    assert again[-1].job.counters.as_dict()["inserted"] == 0
    ids = {r["displayName"]: r["id"] for r in query(demo.erp, "SELECT id, displayName FROM customers")}
    created = {r["name"]: r["accountid"] for r in query(demo.crm, "SELECT accountid, name FROM account")}
    couplings = query(
        demo.directory / "coupler-state.db",
        "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'",
    )
    pairs = {(c["local_key"], c["integration_key"]) for c in couplings}
    assert {(ids[name], created[name]) for name in NEW} <= pairs, "each new customer is coupled to its account"

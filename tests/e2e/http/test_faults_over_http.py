"""Faults over HTTP: a run under injected 429s and 503s finishes with every record synchronized and nothing
duplicated; a record changed on the server between coupler's read and its write (412) is read again, never
overwritten; a run waiting on Retry-After longer than its mapping lock lives keeps the lock, so a second run is
refused rather than creating the same records."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from starlette.types import Message, Receive, Scope, Send

from coupler.bootstrap import open_coupler
from coupler.domain.errors import MappingBusy
from coupler.domain.mapping import Side

from .conftest import ASGIApp
from .support import HttpDemo, Step, add_accounts, execute, query, run_scenario, snapshot


def _progress(steps: list[Step]) -> list[tuple[str, str, int, int, int, int]]:
    """What each job achieved (failures aside): mapping, kind, inserted, modified, coupled, conflicts."""
    rows = []
    for step in steps:
        for mapping, kind, counters in step.jobs:
            c = dict(counters)
            rows.append((mapping, kind, c["inserted"], c["modified"], c["coupled"], c["conflicts"]))
    return rows


def test_a_run_under_429s_and_503s_synchronizes_everything_once(http_demo: HttpDemo, sql_demo: Path) -> None:
    bursts = iter(range(6))

    def faults() -> None:  # before each of the first six steps, a 503 on each server; all along, throttling
        if next(bursts, None) is not None:
            http_demo.dv_faults.unavailable(1)
            http_demo.bc_faults.unavailable(1)

    http_demo.dv_faults.throttle(every=4, retry_after=0.05)
    http_demo.bc_faults.throttle(every=9, retry_after=None)  # Business Central promises no Retry-After
    with http_demo.open() as coupler:
        under_faults = run_scenario(coupler, http_demo.erp, http_demo.crm, between=faults)
    with open_coupler(sql_demo / "coupler.toml") as coupler:
        reference = run_scenario(coupler, sql_demo / "erp.db", sql_demo / "crm.db")

    for faults_served in (http_demo.dv_faults.injected, http_demo.bc_faults.injected):
        assert faults_served["throttle"] >= 4 and faults_served["unavailable"] == 6, faults_served
    assert _progress(under_faults) == _progress(reference)
    assert snapshot(http_demo.erp, erp=True) == snapshot(sql_demo / "erp.db", erp=True)
    assert snapshot(http_demo.crm, erp=False) == snapshot(sql_demo / "crm.db", erp=False)
    for db, sql in (
        (http_demo.crm, "SELECT name AS n FROM account GROUP BY lower(name) HAVING count(*) > 1"),
        (http_demo.crm, "SELECT productnumber AS n FROM product GROUP BY productnumber HAVING count(*) > 1"),
        (http_demo.erp, "SELECT displayName AS n FROM customers GROUP BY lower(displayName) HAVING count(*) > 1"),
        (http_demo.erp, "SELECT email AS n FROM contacts WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1"),
    ):
        assert query(db, sql) == [], f"duplicated: {sql}"


class ChangeBeforeWrite:
    """Wraps the Dataverse app: the first request that updates one of the watched accounts first runs the given SQL
    on crm.db (as another user would, between coupler's read and its write); the answer is kept."""

    def __init__(self, crm: Callable[[], Path], changes: dict[str, str]) -> None:
        self.crm = crm
        self.changes = changes  # accountid -> SQL
        self.fired: list[str] = []
        self.answers: list[str] = []

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH"):
                await app(scope, receive, send)
                return
            messages: list[Message] = []
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            body = b"".join(m.get("body", b"") for m in messages).decode("utf-8", "replace")
            target = scope["path"] + " " + body
            touched = [key for key in self.changes if key not in self.fired and re.search(rf"PATCH[^\n]*{key}", target)]
            for key in touched:
                await asyncio.to_thread(execute, self.crm(), self.changes[key])
                self.fired.append(key)
            replay = iter(messages)
            answer: list[bytes] = []

            async def receive_again() -> Message:
                return next(replay, {"type": "http.disconnect"})

            async def send_and_keep(message: Message) -> None:
                if touched and message["type"] == "http.response.body":
                    answer.append(message.get("body", b""))
                await send(message)

            await app(scope, receive_again, send_and_keep)
            if touched:
                self.answers.append(b"".join(answer).decode("utf-8", "replace"))

        return wrapped


def test_a_record_changed_between_read_and_write_is_read_again_not_overwritten(
    start_demo: Callable[..., HttpDemo],
) -> None:
    changes: dict[str, str] = {}  # accountid -> SQL run on crm.db just before coupler's write to that account
    started: list[HttpDemo] = []
    hook = ChangeBeforeWrite(lambda: started[0].crm, changes)
    demo = start_demo(wrap_crm=hook)
    started.append(demo)
    with demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY")
        coupler.sync_full("CURRENCY")
        coupler.match("CUSTOMER", create_missing=True, sync_after=Side.LOCAL)
        coupler.sync_modified(["CUSTOMER"])
        same_field = coupler.status("CUSTOMER", "C00010").coupling
        other_field = coupler.status("CUSTOMER", "C00020").coupling
        assert same_field is not None and other_field is not None
        same, other = same_field.integration_key, other_field.integration_key

        # Business Central: both customers change; Sales: someone edits their accounts just before coupler writes
        execute(demo.erp, "UPDATE customers SET city = 'Aarhus' WHERE number = 'C00010'")
        execute(demo.erp, "UPDATE customers SET phoneNumber = '+45 11 22 33 44' WHERE number = 'C00020'")
        changes[same] = f"UPDATE account SET address1_city = 'Aalborg' WHERE accountid = '{same}'"
        changes[other] = f"UPDATE account SET address1_city = 'Odense' WHERE accountid = '{other}'"
        first = coupler.sync_modified(["CUSTOMER"])
        second = coupler.sync_modified(["CUSTOMER"])
        conflicts = coupler.conflicts("CUSTOMER")

    assert sorted(hook.fired) == sorted([same, other]), "the edits ran between coupler's read and its write"
    assert any(re.search(r"\b412\b", answer) for answer in hook.answers), hook.answers
    account = {row["accountid"]: row for row in query(demo.crm, "SELECT * FROM account")}
    assert account[same]["address1_city"] == "Aalborg", "the write with a stale ETag did not overwrite Sales' change"
    assert account[other]["address1_city"] == "Odense"
    assert account[other]["telephone1"] == "+45 11 22 33 44", "re-read and re-decided: the other field went through"
    customer = {row["number"]: row for row in query(demo.erp, "SELECT * FROM customers")}
    assert customer["C00020"]["city"] == "Odense", "Sales' change in another field flowed back"
    assert customer["C00010"]["city"] == "Aarhus", "a field both sides changed is parked, not overwritten either way"
    parked = {(c.local_key, f.local_field, f.local_value, f.integration_value) for c in conflicts for f in c.fields}
    assert parked == {(customer["C00010"]["id"], "city", "Aarhus", "Aalborg")}
    assert all(r.job.counters.as_dict()["inserted"] == 0 for r in (*first, *second)), "nothing was created twice"


READ_BATCH = r'(?s)^POST \S*\$batch\n.*(?:"method": ?"GET"|\nGET https?://)'
"""A ``$batch`` of reads (Business Central's JSON form or Dataverse's multipart form): many keys read at once."""


def test_a_dropped_connection_on_a_batch_of_reads_is_retried(http_demo: HttpDemo) -> None:
    add_accounts(http_demo.crm, [f"Batch Reader {n:03}" for n in range(150)])
    with http_demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY", sync_after=Side.LOCAL)
        coupler.sync_full("CURRENCY")
        coupler.match("CUSTOMER", create_missing=True, sync_after=Side.LOCAL)
        coupler.sync_full("CUSTOMER")
        # every pair changes on both sides: each pass reads some 190 partners by key, more than one request holds
        execute(http_demo.crm, "UPDATE account SET telephone1 = '+45 11 11 11 11'")
        execute(http_demo.erp, "UPDATE customers SET website = 'www.example.com'")
        for faults in (http_demo.bc_faults, http_demo.dv_faults):
            faults.aim("drop", matching=READ_BATCH)
        [report] = coupler.sync_modified(["CUSTOMER"])
    dropped = http_demo.bc_faults.injected["drop"] + http_demo.dv_faults.injected["drop"]
    assert dropped == 2, "each side's partners were read in a batch, whose connection dropped"
    assert report.job.message is None, report.job.message
    assert report.job.counters.as_dict()["modified"] >= 2 * 150


def test_a_run_waiting_on_retry_after_longer_than_its_lock_lives_keeps_the_mapping(http_demo: HttpDemo) -> None:
    """The full synchronization of CURRENCY (3 currencies to create in Sales) is answered 429 with a Retry-After of
    1.6 s, four times as long as its lock lives; a second run started in the middle of the wait is refused, and the
    currencies are created once."""
    second: dict[str, BaseException | None] = {}

    def another_run() -> None:
        time.sleep(0.8)
        with http_demo.open() as other:
            try:
                other.sync_full("CURRENCY", force=True)
                second["error"] = None
            except MappingBusy as error:
                second["error"] = error

    with http_demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY")
        coupler.systems.lock_ttl = timedelta(seconds=0.4)
        http_demo.dv_faults.throttle(1, retry_after=1.6)
        thread = threading.Thread(target=another_run)
        thread.start()
        report = coupler.sync_full("CURRENCY", force=True)
        thread.join(timeout=60)

    assert http_demo.dv_faults.injected["throttle"] == 1
    assert report.job.duration_seconds is not None and report.job.duration_seconds >= 1.6, "it waited"
    assert isinstance(second.get("error"), MappingBusy), second
    assert report.ok and report.job.counters.inserted == 3
    duplicated = "SELECT isocurrencycode AS c FROM transactioncurrency GROUP BY isocurrencycode HAVING count(*) > 1"
    assert query(http_demo.crm, duplicated) == []

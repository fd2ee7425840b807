"""Scheduled synchronization on the demo: `coupler run` once and at an interval until Ctrl-C, and two runs of one
mapping at the same time (exactly one writes)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from coupler.adapters.store.sql.store import open_state_store
from coupler.domain.errors import UsageError
from coupler.domain.timeutil import utcnow
from coupler.entrypoints.cli.commands.run import parse_duration

from .support import Demo, coupler_command

pytestmark = pytest.mark.e2e

MAPPINGS = ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
_SCRUBBED = ("COUPLER_CONFIG", "COUPLER_DEBUG", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")


def _start(demo: Demo, *args: str) -> subprocess.Popen[str]:
    """`coupler ARGS --config ...` started in the background, its output captured."""
    environment = {k: v for k, v in os.environ.items() if k not in _SCRUBBED} | {"COLUMNS": "250"}
    command = [coupler_command(), *args, "--config", str(demo.config)]
    return subprocess.Popen(
        command, cwd=demo.directory.parent, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def _finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stdout + stderr, stdout + stderr
    return process.returncode, stdout, stderr


def _couple_what_customers_refer_to(demo: Demo) -> None:
    """Salespeople and currencies coupled (the CRM's matched, the others created), as customers look them up."""

    def steps() -> None:
        for mapping in ("SALESPEOPLE", "CURRENCY"):
            demo.coupler("match", mapping, expect=None)
            demo.coupler("sync", mapping, "--full")

    demo.replay("couple_what_customers_refer_to", steps)


def _couple_a_customer(demo: Demo) -> tuple[str, str]:
    """A customer coupled with its account (synchronized once); returns (customer number, account id)."""
    _couple_what_customers_refer_to(demo)
    number, name = demo.matched_customers()[0]
    demo.replay("couple_a_customer", lambda: demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local"))
    return number, demo.account(name)["accountid"]


def _city(demo: Demo, account_id: str) -> Any:
    return demo.account_by_id(account_id)["address1_city"]


# one round --------------------------------------------------------------------------------------------------------
def test_run_once_synchronizes_every_mapping_in_dependency_order(demo: Demo) -> None:
    number, account_id = _couple_a_customer(demo)
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (number,))

    result = demo.coupler("run", "--once")

    [line] = result.stdout.splitlines()
    assert " round 1: " in line
    assert [part.split()[0] for part in line.split(": ", 1)[1].split(" · ")] == MAPPINGS
    assert "CUSTOMER 1 modified" in line
    assert _city(demo, account_id) == "Leeds"

    [again] = demo.coupler("run", "--once", "--json").stdout.splitlines()
    round_ = json.loads(again)
    assert (round_["round"], round_["stopped"]) == (1, False)
    assert [m["mapping"] for m in round_["mappings"]] == MAPPINGS
    assert {m["outcome"] for m in round_["mappings"]} == {"done"}
    customer = next(m for m in round_["mappings"] if m["mapping"] == "CUSTOMER")
    job = customer["report"]["job"]
    assert job["kind"] == "incremental" and job["counters"]["modified"] == 0

    only = demo.coupler("run", "customer", "--once", "--json").stdout.splitlines()
    assert [m["mapping"] for m in json.loads(only[0])["mappings"]] == ["CUSTOMER"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2d", 172_800), (" 1M ", 60)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "30m1h", "1.5h", "-5m", "0s", "0h0m"])
def test_not_durations(text: str) -> None:
    with pytest.raises(UsageError, match="--every"):
        parse_duration(text)


def test_run_refuses_bad_usage_with_exit_code_2(demo: Demo) -> None:
    bad = demo.coupler("run", "--every", "5x", expect=2)
    assert "--every: '5x' is not a duration" in bad.stderr
    assert "no time at all" in demo.coupler("run", "--every", "0s", expect=2).stderr
    assert "--once runs a single round" in demo.coupler("run", "--once", "--every", "1m", expect=2).stderr
    assert "No table mapping is named 'NOPE'" in demo.coupler("run", "NOPE", "--once", expect=2).stderr
    assert demo.coupler("jobs", "--json").json() == [], "nothing ran"


# at an interval, until Ctrl-C -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_every_second_carries_an_edit_across_and_stops_cleanly_on_a_signal(
    demo: Demo, stop_signal: signal.Signals
) -> None:
    number, account_id = _couple_a_customer(demo)
    process = _start(demo, "run", "--every", "1s", "--json")
    try:
        demo.execute(demo.erp, "UPDATE customers SET city = 'Bradford' WHERE number = ?", (number,))
        _wait_for(lambda: _city(demo, account_id) == "Bradford", "the edit to reach the CRM")
        process.send_signal(stop_signal)
        code, stdout, stderr = _finished(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert code == 0, stderr
    assert "Stopped cleanly after" in stderr
    rounds = [json.loads(line) for line in stdout.splitlines()]
    assert [r["round"] for r in rounds] == list(range(1, len(rounds) + 1))
    customer = [m for r in rounds for m in r["mappings"] if m["mapping"] == "CUSTOMER"]
    reports = [m["report"] for m in customer if m["report"]]
    assert sum(r["job"]["counters"]["modified"] for r in reports) == 1, "written once, by one round"

    jobs = demo.coupler("jobs", "--mapping", "CUSTOMER", "--last", "100", "--json").json()
    incremental = [j for j in jobs if j["kind"] == "incremental"]
    assert {j["id"] for j in incremental} == {m["report"]["job"]["id"] for m in customer}, (
        "each round's job is in the log"
    )
    assert all(j["finished_at"] is not None for j in jobs), "every job is closed, the stopped one too"
    assert sum(j["counters"]["modified"] for j in incremental) == 1


# two runs of one mapping at once ----------------------------------------------------------------------------------
@contextmanager
def _crm_write_lock(crm: Path) -> Iterator[None]:
    """Hold the CRM database's write lock (as a slow CRM would be): a run that reaches its first write waits."""
    with closing(sqlite3.connect(crm, isolation_level=None)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "readers must not be blocked"
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")


def _duplicates(demo: Demo) -> list[dict[str, Any]]:
    """Names that two accounts or two customers share."""
    accounts = "SELECT name, count(*) AS n FROM account GROUP BY name HAVING count(*) > 1"
    customers = "SELECT displayName, count(*) AS n FROM customers GROUP BY displayName HAVING count(*) > 1"
    return demo.query(demo.crm, accounts) + demo.query(demo.erp, customers)


def test_two_full_runs_of_one_mapping_at_once_exactly_one_writes(demo: Demo) -> None:
    _couple_what_customers_refer_to(demo)
    demo.coupler("match", "CUSTOMER", expect=None)  # couple what both sides share, so nothing duplicates
    assert _duplicates(demo) == []
    accounts = len(demo.query(demo.crm, "SELECT accountid FROM account"))

    with _crm_write_lock(demo.crm):
        first, second = (_start(demo, "sync", "CUSTOMER", "--full", "--json") for _ in range(2))
        _wait_for(lambda: first.poll() is not None or second.poll() is not None, "one run to be refused")
        refused, worker = (first, second) if first.poll() is not None else (second, first)
        assert worker.poll() is None, "the other run holds the mapping, waiting on the CRM"
        code, stdout, stderr = _finished(refused)
    assert code == 1, stdout + stderr
    assert json.loads(stdout)["error"] == "MappingBusy"
    assert "error: CUSTOMER is being synchronized by another run" in stderr

    code, stdout, stderr = _finished(worker)
    assert code in (0, 1), stderr  # 1: some records failed or are in conflict, which is the demo's data
    report = json.loads(stdout)
    assert report["job"]["kind"] == "full" and report["job"]["counters"]["inserted"] > 0
    assert _duplicates(demo) == []
    full_jobs = [j for j in demo.coupler("jobs", "--mapping", "CUSTOMER", "--json").json() if j["kind"] == "full"]
    assert [j["id"] for j in full_jobs] == [report["job"]["id"]], "the refused run left no job"

    again = demo.coupler("sync", "CUSTOMER", "--full", "--json", expect=None).json()
    assert again["job"]["counters"]["inserted"] == 0, "the one run created every counterpart, once"
    assert len(demo.query(demo.crm, "SELECT accountid FROM account")) > accounts
    assert _duplicates(demo) == []


# a run stopped between two pages ----------------------------------------------------------------------------------
def test_a_run_stopped_after_its_first_page_leaves_no_edit_of_a_multi_row_update_behind(demo: Demo) -> None:
    """Issue 11's reproduction: one UPDATE gives every customer one modified-on; a run reading pages of 5 is
    stopped by SIGTERM after its first page; the next run carries every other customer's city across."""
    _couple_what_customers_refer_to(demo)
    demo.coupler("match", "CUSTOMER", "--sync-after", "local", expect=None)
    couplings = "SELECT integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'"
    accounts = [row["integration_key"] for row in demo.query(demo.state, couplings)]
    assert len(accounts) > 10
    with demo.config.open("a", encoding="utf-8") as config:
        config.write("\n[sync]\nbatch_size = 5\n")
    assert demo.execute(demo.erp, "UPDATE customers SET city = 'Tie'") > 10  # one statement: one shared stamp
    time.sleep(1.2)  # the run starts past the overlap window: its watermark may reach the shared stamp

    running = "SELECT count(*) AS n FROM coupler_jobs WHERE mapping = 'CUSTOMER' AND finished_at IS NULL"
    with _crm_write_lock(demo.crm):  # the run waits at its first write to the CRM, in its first page
        process = _start(demo, "run", "CUSTOMER", "--once", "--json")
        try:
            _wait_for(lambda: demo.query(demo.state, running)[0]["n"] == 1, "the CUSTOMER job to start")
            process.send_signal(signal.SIGTERM)
        except BaseException:
            process.kill()
            raise
    code, stdout, stderr = _finished(process)
    assert code == 0 and "Stopped cleanly" in stderr, stderr
    [round_] = [json.loads(line) for line in stdout.splitlines()]
    [stopped] = round_["mappings"]
    assert stopped["outcome"] == "stopped"
    first = stopped["report"]["job"]["counters"]["modified"]
    assert 0 < first < len(accounts), "stopped between two pages"

    [report] = demo.coupler("sync", "CUSTOMER", "--json").json()
    assert report["job"]["counters"]["modified"] == len(accounts) - first, "every account the first page did not reach"
    assert {demo.account_by_id(account)["address1_city"] for account in accounts} == {"Tie"}


def test_sync_of_every_mapping_reports_a_busy_one_and_runs_the_others(demo: Demo) -> None:
    number, account_id = _couple_a_customer(demo)
    demo.execute(demo.erp, "UPDATE currencies SET symbol = 'Dkr' WHERE code = 'DKK'")
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (number,))
    store = open_state_store(f"sqlite:///{demo.state}")
    try:  # another run holds CUSTOMER (a `coupler sync CUSTOMER --full` on another machine, say)
        now = utcnow()
        assert store.cursors.acquire_lock("mapping:CUSTOMER", "another-run", until=now + timedelta(minutes=5), now=now)
    finally:
        store.close()

    result = demo.coupler("sync", "--json", expect=1)
    reports = result.json()
    assert [r["job"]["mapping"] for r in reports] == [m for m in MAPPINGS if m != "CUSTOMER"], "the others all ran"
    assert all(r["job"]["kind"] == "incremental" and r["job"]["message"] is None for r in reports)
    currency = next(r for r in reports if r["job"]["mapping"] == "CURRENCY")
    assert currency["job"]["counters"]["modified"] == 1
    assert "error: CUSTOMER is being synchronized by another run" in result.stderr
    assert _city(demo, account_id) != "Leeds", "nothing of the busy mapping was written"

    human = demo.coupler("sync", expect=1)
    assert "CONTACT" in human.stdout and "ITEM-PRODUCT" in human.stdout and "CUSTOMER" not in human.stdout
    assert "error: CUSTOMER is being synchronized by another run" in human.stderr

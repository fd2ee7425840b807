"""`coupler worker` on the demo with its state store and job queue in PostgreSQL: real worker processes, started and
stopped (or killed) by the tests. A deferred job is done by a worker; a mapping's jobs never overlap and run in the
order they were asked for, whatever the number of workers; a worker killed with SIGKILL mid-job has its job taken
over by another, which finishes it with nothing duplicated; the scheduler runs once per tick with two workers and
backs off a mapping that finds nothing."""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from coupler.adapters.queue.client import Work
from coupler.bootstrap import open_queue
from coupler.config import load_config
from pgdb import fresh_pg_database

from .support import Demo
from .test_run import _couple_a_customer, _couple_what_customers_refer_to, _crm_write_lock, _duplicates, _start
from .test_run import _wait_for as wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SCHEDULER_JOBS = "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'coupler.scheduler' AND status = 'succeeded'"
MAPPINGS = ("SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT")
QUEUE = '[queue]\nscheduled = false\ntick = "1s"\ntakeover_after = "3s"\n'


@pytest.fixture
def queued(demo: Demo) -> Iterator[tuple[Demo, sa.URL]]:
    """The demo with its state store in a fresh PostgreSQL database and the job queue on."""
    with fresh_pg_database("coupler_queue") as url:
        configure(demo, url, QUEUE)
        yield demo, url


def configure(demo: Demo, url: sa.URL, queue: str) -> None:
    state = url.render_as_string(hide_password=False)
    text = re.sub(r"^state = .*$", lambda _: f'state = "{state}"\n\n{queue}', demo.config.read_text(), flags=re.M)
    demo.config.write_text(text, encoding="utf-8")


@contextmanager
def workers(demo: Demo, count: int = 1) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` `coupler worker` processes, stopped with SIGTERM (killed if they linger) on the way out."""
    started: list[subprocess.Popen[str]] = []
    try:
        started.extend(_start(demo, "worker") for _ in range(count))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                _, stderr = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
            assert "Traceback" not in stderr, stderr


def defer(demo: Demo, *jobs: tuple[Work, str, dict[str, Any]]) -> list[int]:
    with open_queue(load_config(demo.config)) as queue:
        return [queue.defer(work, mapping, **arguments) for work, mapping, arguments in jobs]


def queue_rows(url: sa.URL, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def finished(url: sa.URL, ids: list[int]) -> bool:
    rows = queue_rows(url, f"SELECT status FROM procrastinate_jobs WHERE id IN ({','.join(map(str, ids))})")
    assert all(status != "failed" for (status,) in rows), rows
    return len(rows) == len(ids) and all(status == "succeeded" for (status,) in rows)


def job_log(demo: Demo, mapping: str) -> list[dict[str, Any]]:
    """The mapping's jobs in the state store's job log, oldest first."""
    jobs: list[dict[str, Any]] = demo.coupler("jobs", "--json", "--mapping", mapping, "--last", "100").json()
    return sorted(jobs, key=lambda job: job["started_at"])


def test_a_round_deferred_by_run_queue_is_done_by_a_worker(queued: tuple[Demo, sa.URL]) -> None:
    demo, _url = queued
    number, account_id = _couple_a_customer(demo)
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (number,))

    result = demo.coupler("run", "--queue", "--json").json()
    assert result["mappings"] == list(MAPPINGS)
    assert demo.account_by_id(account_id)["address1_city"] != "Leeds", "nothing runs before a worker takes it"
    with workers(demo):
        wait_for(lambda: demo.account_by_id(account_id)["address1_city"] == "Leeds", "the worker to run the round")
        wait_for(lambda: len(job_log(demo, "ITEM-PRODUCT")) == 1, "the round to end")
    customer = [job for job in job_log(demo, "CUSTOMER") if job["kind"] == "incremental"]
    assert customer[-1]["counters"]["modified"] == 1
    starts = [job_log(demo, m)[-1]["started_at"] for m in result["mappings"]]
    assert starts == sorted(starts), "in dependency order, one after the other"


def test_a_mappings_jobs_never_overlap_and_run_in_the_order_asked_with_two_workers(
    queued: tuple[Demo, sa.URL],
) -> None:
    demo, url = queued
    _couple_what_customers_refer_to(demo)
    asked = [Work.INCREMENTAL, Work.MATCH, Work.FULL, Work.INCREMENTAL, Work.MATCH, Work.FULL, Work.INCREMENTAL]
    other = [(Work.INCREMENTAL, "CONTACT", {}), (Work.INCREMENTAL, "ITEM-PRODUCT", {})]
    ids = defer(demo, *((work, "CUSTOMER", {}) for work in asked), *other)  # the others keep the 2nd worker busy
    seen: set[int] = set()

    def done() -> bool:
        seen.update(w for (w,) in queue_rows(url, "SELECT worker_id FROM procrastinate_jobs WHERE status = 'doing'"))
        return finished(url, ids)

    with workers(demo, 2):
        wait_for(done, "the jobs to be done", timeout=60)

    runs = job_log(demo, "CUSTOMER")
    kinds = {Work.INCREMENTAL: "incremental", Work.MATCH: "match", Work.FULL: "full"}
    assert [job["kind"] for job in runs] == [kinds[work] for work in asked], "in the order they were asked for"
    for before, after in itertools.pairwise(runs):
        assert before["finished_at"] is not None
        assert datetime.fromisoformat(before["finished_at"]) <= datetime.fromisoformat(after["started_at"]), runs
    attempts = queue_rows(url, f"SELECT max(attempts) FROM procrastinate_jobs WHERE id IN ({','.join(map(str, ids))})")
    assert attempts == [(1,)], "each job ran once: never refused as busy"
    assert len(seen - {None}) == 2, "both workers worked"
    assert _duplicates(demo) == []


def test_a_worker_killed_mid_job_has_its_job_taken_over_and_finished_with_nothing_duplicated(
    queued: tuple[Demo, sa.URL],
) -> None:
    demo, url = queued
    _couple_what_customers_refer_to(demo)
    demo.coupler("match", "CUSTOMER", expect=None)  # couple what both sides share: the full job creates the rest
    lonely, crm_only = demo.lonely_customers(), demo.crm_only_accounts()
    accounts = len(demo.query(demo.crm, "SELECT accountid FROM account"))
    customers = len(demo.query(demo.erp, "SELECT number FROM customers"))
    assert lonely

    [job] = defer(demo, (Work.FULL, "CUSTOMER", {}))
    with ExitStack() as stack:
        stack.enter_context(_crm_write_lock(demo.crm))  # the job waits at its first write to the CRM
        [first] = stack.enter_context(workers(demo))

        def holds_customer() -> bool:
            locks = demo.coupler("locks", "--json").json()
            return any(lock["mapping"] == "CUSTOMER" and lock["pid"] == first.pid for lock in locks)

        wait_for(holds_customer, "the first worker to take the job and lock CUSTOMER")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    # the CRM answers again; a second worker takes the job over once the first is silent for takeover_after
    with workers(demo):
        wait_for(lambda: finished(url, [job]), "the second worker to finish the job", timeout=60)

    [(attempts,)] = queue_rows(url, f"SELECT attempts FROM procrastinate_jobs WHERE id = {job}")
    assert attempts >= 2, "the job ran again"
    assert _duplicates(demo) == []
    assert len(demo.query(demo.crm, "SELECT accountid FROM account")) == accounts + len(lonely), "nothing lost"
    assert len(demo.query(demo.erp, "SELECT number FROM customers")) == customers + len(crm_only)
    full = [j for j in job_log(demo, "CUSTOMER") if j["kind"] == "full"]
    assert len(full) == 2 and full[0]["finished_at"] is not None, "the dead worker's job closed by the next one"
    assert full[-1]["counters"]["inserted"] == len(lonely) + len(crm_only)


def test_one_scheduler_runs_per_tick_with_two_workers_and_an_idle_mapping_is_backed_off(demo: Demo) -> None:
    # nothing is killed here: a long takeover_after, so that a loaded machine never makes a live worker look stalled
    schedule = '[queue]\ntick = "1s"\ntakeover_after = "30s"\nevery = "1s"\nidle_after = 2\nidle_every = "1h"\n'
    with fresh_pg_database("coupler_queue") as url:
        configure(demo, url, schedule)
        with workers(demo, 2):
            wait_for(
                lambda: len([j for j in job_log(demo, "ITEM-PRODUCT") if j["finished_at"]]) >= 2,
                "two scheduled rounds",
            )
            seen: set[int] = set()

            def ticked() -> bool:
                seen.update(w for (w,) in queue_rows(url, "SELECT id FROM procrastinate_workers"))
                return len(queue_rows(url, SCHEDULER_JOBS)) >= 6

            wait_for(ticked, "six ticks")
        ticks = queue_rows(
            url,
            "SELECT count(*), count(DISTINCT args->>'timestamp') FROM procrastinate_jobs "
            "WHERE task_name = 'coupler.scheduler'",
        )
        runs = {m: [j for j in job_log(demo, m) if j["kind"] == "incremental"] for m in MAPPINGS}
    [(jobs, seconds)] = ticks
    assert jobs == seconds >= 6, "one scheduler job per tick although both workers defer the periodic tasks"
    assert len(seen) == 2, "both workers were running, each deferring the periodic tasks"
    for mapping, incremental in runs.items():
        # found nothing twice, then polled every hour: two runs, or three when a tick queued the next round while
        # the second was still running (it was not in the queue, so no queueing lock held it); without the back-off
        # a mapping due every second runs once per tick, six times or more
        assert 2 <= len(incremental) <= 3, f"{mapping}: found nothing twice, then polled every hour: {incremental}"


def test_a_worker_serves_its_metrics_and_logs_json_lines_naming_the_job(queued: tuple[Demo, sa.URL]) -> None:
    import json
    import socket

    import httpx

    demo, _url = queued
    number, account_id = _couple_a_customer(demo)
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE number = ?", (number,))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.coupler("run", "--queue", "--json")
    worker = _start(demo, "worker", "--metrics-port", str(port))
    try:
        wait_for(lambda: demo.account_by_id(account_id)["address1_city"] == "York", "the worker to run the round")
        wait_for(lambda: len(job_log(demo, "ITEM-PRODUCT")) == 1, "the round to end")

        def scrape() -> str:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                return ""

        wait_for(
            lambda: 'coupler_jobs_total{kind="incremental",mapping="CUSTOMER",outcome="ok"}' in scrape(), "metrics"
        )
        text = scrape()
        assert "coupler_queue_up 1.0" in text and "coupler_state_store_up 1.0" in text
        assert 'coupler_queue_jobs{connection="' in text and "coupler_queue_oldest_waiting_seconds" in text
        assert 'coupler_records_total{counter="modified",mapping="CUSTOMER"} 1.0' in text
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    job_lines = [line for line in lines if line.get("mapping") == "CUSTOMER"]
    assert job_lines and all(line.get("job") for line in job_lines), stderr
    assert "Traceback" not in stderr

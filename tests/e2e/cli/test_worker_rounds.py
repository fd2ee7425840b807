"""A round of incremental jobs on the queue is a chain (each mapping's job defers the next one's when it ends). A
worker killed after its job deferred the next one but before the job was marked done has the job run again by
another worker: the round still has one job per mapping, run once each in dependency order, not a second tail."""

from __future__ import annotations

import itertools
import signal
from collections import Counter

import psycopg
import pytest
import sqlalchemy as sa

from .support import Demo
from .test_run import _start
from .test_run import _wait_for as wait_for
from .test_worker import MAPPINGS, job_log, queue_rows, queued, workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
__all__ = ["queued"]  # the fixture, used below

HANG = """
CREATE FUNCTION coupler_test_hang() RETURNS trigger AS $$
BEGIN
    IF NEW.job_id = {job} AND NEW.finished_at IS NOT NULL THEN PERFORM pg_sleep(120); END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER coupler_test_hang BEFORE UPDATE ON coupler_queue_progress
    FOR EACH ROW EXECUTE FUNCTION coupler_test_hang();
"""


def execute(url: sa.URL, sql: str) -> None:
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def test_a_job_run_again_after_its_worker_died_defers_the_rest_of_its_round_once(
    queued: tuple[Demo, sa.URL],
) -> None:
    demo, url = queued
    first = demo.coupler("run", "--queue", "--json").json()["job"]
    # the worker hangs as it records the first job's end: after it deferred the next mapping's job, before done
    execute(url, HANG.format(job=int(first)))
    worker = _start(demo, "worker")
    try:
        wait_for(
            lambda: (
                queue_rows(url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'coupler.incremental'")
                == [(2,)]
            ),
            "the first job to defer the next mapping's",
        )
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.communicate(timeout=10)
    # the dead worker's connection still sleeps in the trigger, holding the row: end it, then the trigger
    execute(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()",
    )
    execute(url, "DROP TRIGGER coupler_test_hang ON coupler_queue_progress")
    with workers(demo):  # takes the dead worker's job over after takeover_after and runs the round to its end
        wait_for(
            lambda: (
                queue_rows(
                    url,
                    "SELECT count(*) FILTER (WHERE status = 'succeeded') = count(*) AND count(*) >= 5 "
                    "FROM procrastinate_jobs WHERE task_name = 'coupler.incremental'",
                )
                == [(True,)]
            ),
            "the round to end",
            timeout=60,
        )
    jobs = queue_rows(
        url, "SELECT args->>'mapping', attempts FROM procrastinate_jobs WHERE task_name = 'coupler.incremental'"
    )
    per_mapping = Counter(mapping for mapping, _ in jobs)
    assert per_mapping == Counter(MAPPINGS), f"one job per mapping in the round, not a second tail: {jobs}"
    assert dict(jobs)[MAPPINGS[0]] >= 2, "the first job ran again"
    first, *rest = (job_log(demo, m) for m in MAPPINGS)
    assert len(first) == 2, "the first mapping ran, then ran again (redundant, harmless: nothing to do)"
    assert all(len(log) == 1 for log in rest), "each later mapping ran once"
    chain = [first[0], *(log[0] for log in rest)]
    for before, after in itertools.pairwise(chain):
        assert before["finished_at"] <= after["started_at"], f"in dependency order: {chain}"

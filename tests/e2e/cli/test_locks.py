"""`coupler locks` and `coupler unlock` on the demo: a run killed while it holds its mapping shows with its host and
process; its lock is released (and its job closed) at once since its process is gone; a live run's lock is only
released with --force, and that run then stops instead of writing on."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .support import Demo
from .test_run import _couple_what_customers_refer_to, _crm_write_lock, _duplicates, _finished, _start, _wait_for

pytestmark = pytest.mark.e2e


def _locks(demo: Demo) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = demo.coupler("locks", "--json").json()
    return result


def _customer_lock(demo: Demo) -> dict[str, Any] | None:
    return next((lock for lock in _locks(demo) if lock["mapping"] == "CUSTOMER"), None)


def _prepare(demo: Demo) -> None:
    """Couple what customers look up and what both sides share, so that a full run of CUSTOMER creates the rest."""
    _couple_what_customers_refer_to(demo)
    demo.coupler("match", "CUSTOMER", expect=None)


@contextmanager
def _run_in_background(demo: Demo, *args: str) -> Iterator[subprocess.Popen[str]]:
    worker = _start(demo, *args)
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)


def test_the_lock_of_a_killed_run_is_shown_with_its_process_and_released_at_once(demo: Demo) -> None:
    _prepare(demo)
    # the run takes the mapping's lock, then waits at its first write to the CRM
    with _crm_write_lock(demo.crm), _run_in_background(demo, "sync", "CUSTOMER", "--full", "--json") as worker:
        _wait_for(lambda: _customer_lock(demo) is not None, "the run to lock CUSTOMER")
        held = _customer_lock(demo)
        assert held is not None
        assert (held["state"], held["host"], held["pid"], held["alive"]) == (
            "held",
            socket.gethostname(),
            worker.pid,
            True,
        )
        assert held["job"]["kind"] == "full" and held["job"]["finished_at"] is None

        refused = demo.coupler("unlock", "CUSTOMER", expect=1)
        assert f"process {worker.pid} on this machine" in refused.stderr and "still running" in refused.stderr

        worker.kill()  # kill -9: no finally block runs, the lock and the open job stay behind
        worker.communicate(timeout=30)

    gone = _customer_lock(demo)
    assert gone is not None and (gone["state"], gone["alive"], gone["expired"]) == ("owner gone", False, False)
    shown = demo.coupler("locks").stdout
    assert "CUSTOMER" in shown and "owner gone" in shown and str(worker.pid) in shown
    busy = demo.coupler("sync", "CUSTOMER", expect=1)
    assert f"job {held['job_id']}, on host {socket.gethostname()} as process {worker.pid}" in busy.stderr
    assert "coupler unlock CUSTOMER" in busy.stderr

    released = demo.coupler("unlock", "CUSTOMER", "--json").json()
    assert released["mapping"] == "CUSTOMER" and released["released"]["job_id"] == held["job_id"]
    closed = released["released"]["job"]
    assert closed["finished_at"] is not None
    assert closed["message"].startswith(
        "Stopped before the end: the process ended (its lock was released by an administrator"
    )
    [job] = [j for j in demo.coupler("jobs", "--mapping", "CUSTOMER", "--json").json() if j["id"] == held["job_id"]]
    assert job["finished_at"] == closed["finished_at"], "the killed run's job is closed in the log"
    assert demo.coupler("locks").stdout.strip() == "No mapping is locked."
    assert demo.coupler("unlock", "CUSTOMER").stdout.strip() == "CUSTOMER is not locked: nothing to release."

    again = demo.coupler("sync", "CUSTOMER", "--full", "--json", expect=None).json()
    assert again["job"]["counters"]["inserted"] > 0
    assert _duplicates(demo) == []


def test_a_live_run_s_lock_is_released_only_with_force_and_that_run_then_stops(demo: Demo) -> None:
    _prepare(demo)
    with _run_in_background(demo, "sync", "CUSTOMER", "--full", "--json") as worker:
        with _crm_write_lock(demo.crm):
            _wait_for(lambda: _customer_lock(demo) is not None, "the run to lock CUSTOMER")
            demo.coupler("unlock", "CUSTOMER", expect=1)
            forced = demo.coupler("unlock", "CUSTOMER", "--force", "--json").json()
            assert forced["released"]["pid"] == worker.pid
            assert _customer_lock(demo) is None
        code, stdout, stderr = _finished(worker)

    assert code == 1, stdout + stderr
    assert json.loads(stdout).get("error") == "LockLost", stdout + stderr
    assert "the lock on CUSTOMER was taken by another run" in stderr
    [job] = demo.coupler("jobs", "--mapping", "CUSTOMER", "--json").json()[:1]
    assert job["message"].startswith("Stopped before the end: the lock on CUSTOMER was taken by another run")

    demo.coupler("sync", "CUSTOMER", "--full", expect=None)
    assert _duplicates(demo) == [], "what the stopped run created is coupled by the next run, not created again"

"""`coupler disable` and `coupler enable`: off, no command runs a job (each says why and how to switch it on), and
`coupler run` goes on waiting."""

from __future__ import annotations

from pathlib import Path

from .support import Demo, run_coupler


def test_switched_off_no_job_runs_then_on_again(demo: Demo) -> None:
    folder = demo.directory
    switched = run_coupler("disable", "--json", cwd=folder, expect=0).json()
    assert switched["enabled"] is False and Path(switched["backup"]).name == "coupler.toml.bak"
    refused = run_coupler("sync", "CURRENCY", "--full", cwd=folder, expect=2)
    assert "is disabled: nothing is synchronized or coupled until it is enabled again" in refused.stderr
    assert "Switch it on with `coupler enable`" in refused.stderr
    run_coupler("match", "SALESPEOPLE", cwd=folder, expect=2)
    waiting = run_coupler("run", "--once", cwd=folder, expect=0)
    assert "the connection is disabled; nothing ran" in waiting.output
    assert run_coupler("jobs", "--json", cwd=folder, expect=0).json() == [], "no job was started"

    run_coupler("enable", cwd=folder, expect=0)
    ran = run_coupler("sync", "CURRENCY", cwd=folder, expect=0)
    assert "disabled" not in ran.output and "incremental" in ran.output

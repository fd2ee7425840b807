"""`coupler disable` and `coupler enable`: off, no command runs a job (each says why and how to switch it on), and
`coupler run` goes on waiting."""

from __future__ import annotations

import tomllib
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


def test_mapping_set_changes_a_field_in_the_file_and_the_next_command_uses_it(demo: Demo) -> None:
    folder = demo.directory
    changed = run_coupler("mapping", "set", "CUSTOMER", "email", "--disabled", "--json", cwd=folder, expect=0).json()
    assert (folder / changed["backup"]).read_text(encoding="utf-8") != (folder / "coupler.toml").read_text(
        encoding="utf-8"
    )
    customer = next(
        m for m in tomllib.loads((folder / "coupler.toml").read_text())["mappings"] if m["name"] == "CUSTOMER"
    )
    assert next(f for f in customer["fields"] if f["local"] == "email")["enabled"] is False
    assert run_coupler("mappings", "--json", cwd=folder, expect=0).json(), "the next command loads the changed file"
    refused = run_coupler("mapping", "set", "CUSTOMER", "fax", "--disabled", cwd=folder, expect=2)
    assert "CUSTOMER has no field mapping 'fax'" in refused.stderr

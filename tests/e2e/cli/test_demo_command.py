"""`coupler demo DIR`: the files it creates, refusing to overwrite them, --force, and the --tour."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import Demo, run_coupler

pytestmark = pytest.mark.e2e


def test_demo_creates_the_files_and_prints_next_steps(tmp_path: Path) -> None:
    result = run_coupler("demo", "shop", cwd=tmp_path, expect=0)

    folder = tmp_path / "shop"
    assert sorted(p.name for p in folder.iterdir()) == ["coupler.toml", "crm.db", "erp.db"]
    assert "Created the demo in shop: erp.db, crm.db, coupler.toml." in result.stdout
    assert "Try next:" in result.stdout
    for step in ("cd shop", "coupler check", "coupler mappings", "coupler sync CURRENCY --full", "coupler jobs"):
        assert step in result.stdout
    demo = Demo(directory=folder)
    assert demo.query(demo.erp, "SELECT count(*) AS n FROM customers")[0]["n"] > 0
    assert demo.query(demo.crm, "SELECT count(*) AS n FROM account")[0]["n"] > 0
    assert demo.matched_customers(), "the demo shares some customers with the CRM"


def test_demo_refuses_to_overwrite_unless_forced(demo: Demo) -> None:
    demo.state.write_bytes(b"")  # as if coupler had run
    number, _ = demo.matched_customers()[0]
    demo.execute(demo.erp, "UPDATE customers SET city = 'Changed' WHERE number = ?", (number,))

    refused = run_coupler("demo", demo.directory, cwd=demo.directory.parent, expect=2)
    assert "already exist" in refused.stderr and "--force" in refused.stderr
    assert refused.stdout == ""
    assert demo.customer(number)["city"] == "Changed", "a refused demo leaves the files alone"

    as_json = run_coupler("demo", demo.directory, "--json", cwd=demo.directory.parent, expect=2).json()
    assert as_json["error"] == "DemoExists"
    assert "--force" in as_json["problems"][0]

    run_coupler("demo", demo.directory, "--force", cwd=demo.directory.parent, expect=0)
    assert demo.customer(number)["city"] != "Changed"
    assert not demo.state.exists(), "--force also removes the old state store"


def test_demo_json(tmp_path: Path) -> None:
    data = run_coupler("demo", "d", "--json", cwd=tmp_path, expect=0).json()
    assert {k: Path(v).name for k, v in data.items()} == {"config": "coupler.toml", "erp": "erp.db", "crm": "crm.db"}
    assert all((tmp_path / v).is_file() for v in data.values())


def test_demo_tour_prints_the_steps(tmp_path: Path) -> None:
    result = run_coupler("demo", "tour", "--tour", cwd=tmp_path, expect=0)

    for step in (
        "$ coupler check",
        "$ coupler sync CURRENCY --full",
        "$ coupler sync SALESPEOPLE --full",
        "$ coupler couple CUSTOMER ",
        "--create",
        "$ coupler sync ",
        "$ coupler jobs",
        "The tour is done.",
    ):
        assert step in result.stdout, step
    assert result.stderr == ""
    state = tmp_path / "tour" / "coupler-state.db"
    couplings = Demo.query(state, "SELECT mapping, count(*) AS n FROM coupler_couplings GROUP BY mapping")
    assert {row["mapping"] for row in couplings} >= {"CURRENCY", "SALESPEOPLE", "CUSTOMER", "ITEM-PRODUCT"}


def test_demo_tour_json(tmp_path: Path) -> None:
    data = run_coupler("demo", "tour", "--tour", "--json", cwd=tmp_path, expect=0).json()

    commands = [step["command"] for step in data["steps"]]
    assert "coupler sync CURRENCY --full" in commands
    assert "coupler sync" in commands
    assert any(c.startswith("coupler couple CUSTOMER ") and c.endswith("--create") for c in commands)
    status = next(step["status"] for step in data["steps"] if step["command"].startswith("coupler status"))
    assert status["coupled"] is True
    for step in data["steps"]:
        for report in step.get("jobs", []):
            assert report["job"]["mapping"] and report["job"]["counters"]["failed"] == 0, report
    assert data["jobs"] and all("counters" in job for job in data["jobs"])

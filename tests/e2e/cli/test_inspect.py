"""`coupler check` and `coupler mappings`, and the three ways to name the configuration file."""

from __future__ import annotations

import pytest

from .support import Demo, run_coupler

pytestmark = pytest.mark.e2e

MAPPINGS = ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]


def test_check_is_ok_on_the_demo(demo: Demo) -> None:
    result = demo.coupler("check")

    assert "All mapped tables and columns exist." in result.stdout
    for system in ("Business Central", "Dynamics 365 Sales", "state store"):
        assert system in result.stdout
    assert "FAILED" not in result.stdout
    assert result.stderr == ""

    data = demo.coupler("check", "--json").json()
    assert data["ok"] is True
    assert data["problems"] == []
    assert [(s["role"], s["ok"]) for s in data["systems"]] == [("local", True), ("integration", True), ("state", True)]


def test_mappings_json_lists_the_five_mappings_with_counts(demo: Demo) -> None:
    data = demo.coupler("mappings", "--json").json()

    assert [m["name"] for m in data] == MAPPINGS  # dependency order
    by_name = {m["name"]: m for m in data}
    assert by_name["CUSTOMER"]["direction"] == "bidirectional"
    assert by_name["CUSTOMER"]["local"]["table"] == "customers"
    assert by_name["CUSTOMER"]["integration"]["table"] == "account"
    assert by_name["CUSTOMER"]["depends_on"] == ["SALESPEOPLE", "CURRENCY"]
    assert by_name["CURRENCY"]["direction"] == "to-integration"
    assert by_name["SALESPEOPLE"]["direction"] == "from-integration"
    for mapping in data:
        counts = mapping["counts"]
        assert (counts["couplings"], counts["failed"], counts["skipped"], counts["errors"]) == (0, 0, 0, 0)


def test_config_found_in_the_working_directory(demo: Demo) -> None:
    result = run_coupler("mappings", cwd=demo.directory, expect=0)
    for name in MAPPINGS:
        assert name in result.stdout
    assert demo.state.exists(), "the state store lies beside the configuration"


def test_config_named_by_the_environment(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    env = {"COUPLER_CONFIG": str(demo.config)}
    outside = demo.directory.parent

    report = run_coupler("couple", "CUSTOMER", number, name, "--json", cwd=outside, env=env, expect=0).json()

    assert report["job"]["counters"]["coupled"] == 1
    couplings = demo.query(demo.state, "SELECT local_key, integration_key FROM coupler_couplings")
    assert couplings == [{"local_key": demo.customer(number)["id"], "integration_key": demo.account(name)["accountid"]}]
    assert not (outside / "coupler-state.db").exists()


def test_no_config_in_the_working_directory(demo: Demo) -> None:
    result = run_coupler("check", cwd=demo.directory.parent, expect=2)
    assert result.stdout == ""
    assert "coupler.toml: no configuration file here" in result.stderr
    assert "COUPLER_CONFIG" in result.stderr


NOTES = """
[[mappings]]
name = "NOTES"
direction = "from-integration"
local = {{ table = "notes", key = "id", modified_on = "modified" }}
integration = {{ table = "transactioncurrency", key = "transactioncurrencyid", modified_on = "modifiedon" }}
fields = [{{ local = "title", integration = "currencyname" }}{more}]
"""


def test_check_warns_where_created_records_could_not_be_found_again(demo: Demo) -> None:
    """The ERP numbers the notes itself: a note is found again after an interrupted creation only by a value sent to
    its unique column (its alternate key) or to a match field."""
    demo.execute(demo.erp, "CREATE TABLE notes (id INTEGER PRIMARY KEY, code TEXT UNIQUE, title TEXT, modified TEXT)")
    config = demo.directory / "notes.toml"
    config.write_text(demo.config.read_text(encoding="utf-8") + NOTES.format(more=""), encoding="utf-8")

    result = run_coupler("check", "--json", "--config", config, cwd=demo.directory, expect=0)
    [warning] = result.json()["warnings"]
    assert "notes.toml: mapping NOTES, from-integration: Business Central assigns" in warning
    assert "assigns the keys of 'notes'" in warning and "its alternate key 'code' is not mapped" in warning
    assert result.json()["ok"] is True
    human = run_coupler("check", "--config", config, cwd=demo.directory, expect=0)
    assert "warning: " in human.stderr and "mapping NOTES, from-integration" in human.stderr

    sent = ', { local = "code", integration = "isocurrencycode" }'
    config.write_text(demo.config.read_text(encoding="utf-8") + NOTES.format(more=sent), encoding="utf-8")
    assert run_coupler("check", "--json", "--config", config, cwd=demo.directory, expect=0).json()["warnings"] == []

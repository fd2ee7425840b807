"""`coupler decouple MAPPING --all`: asks first (or takes --yes), removes every coupling of the mapping in one job,
and leaves the records and the other mappings as they were; checked in the databases themselves."""

from __future__ import annotations

import os
import subprocess

import pytest

from .support import Demo, coupler_command

pytestmark = pytest.mark.e2e


def _couplings(demo: Demo, mapping: str) -> int:
    rows = demo.query(demo.state, "SELECT count(*) AS n FROM coupler_couplings WHERE mapping = ?", (mapping,))
    return int(rows[0]["n"])


def _answering(demo: Demo, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run coupler with ``answer`` on its standard input (the confirmation prompt reads it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("COUPLER_", "FORCE_COLOR", "TTY_"))}
    return subprocess.run(
        [coupler_command(), *args, "--config", str(demo.config)],
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment | {"COLUMNS": "250"},
    )


def test_decouple_all_asks_then_removes_every_coupling_of_the_mapping(demo: Demo) -> None:
    demo.couple_references()
    demo.coupler("match", "CUSTOMER", expect=1)  # the demo leaves some customers unmatched
    coupled = _couplings(demo, "CUSTOMER")
    salespeople = _couplings(demo, "SALESPEOPLE")
    assert coupled > 5 and salespeople > 0
    erp, crm = demo.query(demo.erp, "SELECT * FROM customers"), demo.query(demo.crm, "SELECT * FROM account")

    declined = _answering(demo, "n\n", "decouple", "CUSTOMER", "--all")
    assert declined.returncode == 1, declined
    assert f"Decouple all {coupled} coupled records of CUSTOMER?" in declined.stderr
    assert "Cancelled: nothing was decoupled." in declined.stderr
    assert _couplings(demo, "CUSTOMER") == coupled

    accepted = _answering(demo, "y\n", "decouple", "customer", "--all")
    assert accepted.returncode == 0, accepted
    assert f"{coupled} uncoupled" in accepted.stdout and "Traceback" not in accepted.stderr
    assert f"Decoupled every record of CUSTOMER ({coupled})." in accepted.stdout

    assert _couplings(demo, "CUSTOMER") == 0
    assert _couplings(demo, "SALESPEOPLE") == salespeople, "other mappings keep their couplings"
    assert demo.query(demo.erp, "SELECT * FROM customers") == erp, "the records stay as they are"
    assert demo.query(demo.crm, "SELECT * FROM account") == crm
    [job] = demo.coupler("jobs", "--last", "1", "--json").json()
    assert (job["mapping"], job["kind"], job["counters"]["uncoupled"]) == ("CUSTOMER", "decouple", coupled)


def test_decouple_all_with_yes_and_json_and_bad_combinations(demo: Demo) -> None:
    demo.couple_references()
    currencies = _couplings(demo, "CURRENCY")
    assert currencies > 0

    refused = demo.coupler("decouple", "CURRENCY", "--all", "--json", expect=2)
    assert "add --yes" in refused.json()["problems"][0]
    assert _couplings(demo, "CURRENCY") == currencies

    report = demo.coupler("decouple", "CURRENCY", "--all", "--yes", "--json").json()
    assert (report["job"]["kind"], report["job"]["counters"]["uncoupled"], report["job"]["counters"]["failed"]) == (
        "decouple",
        currencies,
        0,
    )
    assert _couplings(demo, "CURRENCY") == 0

    for args, message in (
        (("decouple", "CURRENCY"), "name the records to decouple, or use --all"),
        (("decouple", "CURRENCY", "EUR", "--all", "--yes"), "give keys or --all, not both"),
        (("decouple", "CURRENCY", "EUR", "--yes"), "--yes confirms --all"),
        (("decouple", "NOPE", "--all", "--yes"), "No table mapping is named 'NOPE'"),
    ):
        result = demo.coupler(*args, expect=2)
        assert message in result.stderr, result

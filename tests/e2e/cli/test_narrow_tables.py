"""At an 80-column terminal the CLI's tables fit, and the column that names each row (a job's id, a record's key,
a mapping) stays whole on one line, however the other columns wrap."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from .support import Demo

# one worker runs the module: its set-up (a module fixture) then runs once, not once per worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-cli-narrow-tables")]

NARROW = {"COLUMNS": "80"}
TABLE = set("┏┃┡│└")


def _fits_with_whole_keys(output: str, keys: Iterable[str]) -> None:
    """The table's lines are at most 80 wide (an error line after it is one line, for grep) and each key is whole
    on one of them."""
    lines = [line for line in output.splitlines() if line[:1] in TABLE]
    assert lines, output
    assert max(map(len, lines)) <= 80, output
    for key in keys:
        assert any(key in line for line in lines), f"{key!r} is not whole on one line:\n{output}"


@pytest.fixture(scope="module")
def busy_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with couplings, jobs, errors (unmatched currencies) and a parked conflict, made once."""
    demo = Demo(directory=Path(shutil.copytree(demo_template, tmp_path_factory.mktemp("busy") / "demo")))
    demo.couple_references()
    number, name = demo.matched_customers()[0]
    demo.coupler("couple", "CUSTOMER", number, name, "--sync-after", "local")
    account_id = demo.account(name)["accountid"]
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE number = ?", (number,))
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull' WHERE accountid = ?", (account_id,))
    summary = demo.coupler("sync", "CUSTOMER", expect=1, env=NARROW)
    _fits_with_whole_keys(summary.stdout, ["CUSTOMER"])
    return demo.directory


@pytest.fixture
def busy(busy_template: Path, tmp_path: Path) -> Demo:
    """A private copy of the busy demo (``busy_template``)."""
    return Demo(directory=Path(shutil.copytree(busy_template, tmp_path / "demo")))


def test_jobs_keep_their_ids_whole(busy: Demo) -> None:
    ids = [job["id"] for job in busy.coupler("jobs", "--json").json()]
    _fits_with_whole_keys(busy.coupler("jobs", env=NARROW).stdout, ids)


def test_errors_keep_the_record_key_whole(busy: Demo) -> None:
    keys = [error["local_key"] for error in busy.coupler("errors", "--json").json()]
    assert keys
    _fits_with_whole_keys(busy.coupler("errors", env=NARROW).stdout, keys)


def test_conflicts_keep_the_record_key_whole(busy: Demo) -> None:
    keys = [conflict["local_key"] for conflict in busy.coupler("conflicts", "--json").json()]
    assert keys
    _fits_with_whole_keys(busy.coupler("conflicts", env=NARROW).stdout, keys)


@pytest.mark.parametrize("command", [["mappings"], ["review"]])
def test_mapping_tables_keep_the_mapping_names_whole(busy: Demo, command: list[str]) -> None:
    names = ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
    _fits_with_whole_keys(busy.coupler(*command, env=NARROW).stdout, names)


def test_status_keeps_both_keys_whole(busy: Demo) -> None:
    status = busy.coupler("status", "CURRENCY", "EUR", "--json").json()["coupling"]
    output = busy.coupler("status", "CURRENCY", "EUR", env=NARROW).stdout
    _fits_with_whole_keys(output, [status["local_key"], status["integration_key"]])

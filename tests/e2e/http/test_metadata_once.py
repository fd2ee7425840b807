"""What coupler learns about each system's schema (Business Central's ``$metadata`` and companies, Dataverse's
entity definitions and ``WhoAmI``) is kept in the state store per connection: a second process asks none of it
again, ``coupler check`` reads it afresh, and a request refused because the schema changed on the server forgets it.
Requests are counted by path on the local servers, each command in its own process (a new ``open_coupler``, or the
console script)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from coupler.bootstrap import open_coupler
from coupler.domain.errors import CouplerError
from coupler.testing import TokenIssuer
from e2e.cli.support import run_coupler

from .conftest import Wrap
from .support import SECRETS, HttpDemo
from .test_request_counts import Log, Pair, bc_server, execute, full_sync, pair

__all__ = ["pair"]  # the fixture, shared with test_request_counts

pytestmark = pytest.mark.e2e

SCHEMA = frozenset({"$metadata", "companies", "EntityDefinitions", "Attributes", "WhoAmI"})
"""The last path segment of every question about a schema the connectors ask (``Log`` keeps that segment)."""


def schema_asked(requests: list[tuple[str, str]]) -> list[str]:
    return [path for _, path in requests if path in SCHEMA]


def kept(directory: Path, kind: str) -> int:
    with closing(sqlite3.connect(directory / "state.db")) as db:
        found = db.execute("SELECT count(*) FROM coupler_metadata WHERE connection LIKE ?", (f"{kind} %",)).fetchone()
    return int(found[0])


def test_a_second_process_asks_nothing_about_the_schema_until_check(pair: Pair) -> None:
    full_sync(pair)  # the first process asked its questions when it opened
    assert kept(pair.directory, "business-central") == 2  # $metadata, companies
    assert kept(pair.directory, "dataverse") >= 3  # the set's definition, its attributes, WhoAmI
    pair.take()

    with open_coupler(pair.directory / "coupler.toml") as second:
        assert pair.take() == ([], []), "opening (and checking the mapped columns) asks nothing"
        assert second.sync_modified()[0].job.counters.total == 0
        assert pair.take() == ([("GET", "customers")], [("GET", "accounts")]), "nothing to do: one read each"
        ref = second.systems.store.couplings.page("CUSTOMER", limit=1)[0].local_key
        second.status("CUSTOMER", ref)
        bc, dv = pair.take()
        assert (bc, dv) == ([("GET", "customers")], [("GET", "accounts")]), "status: the two records, one each"

        second.check(refresh=True)
        bc, dv = pair.take()
        assert sorted(schema_asked(bc)) == ["$metadata", "companies"], bc
        assert sorted(set(schema_asked(dv))) == ["Attributes", "EntityDefinitions", "WhoAmI"], dv

    with open_coupler(pair.directory / "coupler.toml") as third:
        assert third.sync_modified()[0].job.counters.total == 0
        assert pair.take() == ([("GET", "customers")], [("GET", "accounts")]), "check kept what it read"


def test_a_column_renamed_on_the_server_is_learnt_again_after_the_refusal(pair: Pair, issuer: TokenIssuer) -> None:
    full_sync(pair)
    path = pair.directory / "coupler.toml"
    execute(pair.directory / "erp.db", 'ALTER TABLE customers RENAME COLUMN "website" TO "homePage"')
    pair.bc_app.app = bc_server(pair.directory, issuer)  # restarted over the new schema, at the same URL
    renamed = path.read_text(encoding="utf-8").replace('local = "website"', 'local = "homePage"')

    path.with_name("renamed.toml").write_text(renamed, encoding="utf-8")
    with pytest.raises(CouplerError, match="has no column 'homePage'"):
        open_coupler(path.with_name("renamed.toml"))  # what was kept still says website

    with (
        open_coupler(path) as stale,
        pytest.raises(CouplerError, match="Could not find a property named 'website'"),
    ):
        stale.sync_modified()
    assert kept(pair.directory, "business-central") == 0, "forgotten: the next process asks again"
    assert kept(pair.directory, "dataverse") >= 3, "the other system's is kept"

    path.write_text(renamed, encoding="utf-8")
    execute(pair.directory / "erp.db", "UPDATE customers SET homePage = 'https://c0.example' WHERE number = 'C00000'")
    pair.take()
    with open_coupler(path) as fixed:
        report = fixed.sync_modified()[0]
    assert report.ok and report.job.counters.modified == 1, report.errors
    bc, dv = pair.take()
    assert sorted(schema_asked(bc)) == ["$metadata", "companies"] and schema_asked(dv) == []
    with closing(sqlite3.connect(pair.directory / "crm.db")) as crm:
        assert crm.execute("SELECT websiteurl FROM account WHERE accountnumber = 'C00000'").fetchone() == (
            "https://c0.example",
        )


COMMANDS: list[tuple[str, ...]] = [
    ("check",),
    ("review",),
    ("mappings",),
    ("match", "SALESPEOPLE", "--sync-after", "integration"),
    ("match", "CURRENCY"),
    ("sync", "CURRENCY", "--full"),
    ("sync", "CURRENCY"),
    ("sync", "SALESPEOPLE"),
    ("status", "SALESPEOPLE", "{salesperson}"),
    ("jobs",),
    ("errors",),
    ("conflicts",),
    ("sync", "CURRENCY"),
    ("status", "SALESPEOPLE", "{salesperson}"),
]
"""Fourteen commands of an administrator's first session, each its own process."""


def test_fourteen_commands_ask_about_the_schema_once(start_demo: Callable[..., HttpDemo]) -> None:
    bc_log, dv_log = Log(), Log()
    erp: Wrap = bc_log.wrap
    crm: Wrap = dv_log.wrap
    demo = start_demo(wrap_erp=erp, wrap_crm=crm)
    salesperson = ""
    per_command: list[tuple[str, int, int, int, int]] = []
    for command in COMMANDS:
        args = [a.format(salesperson=salesperson) for a in command]
        run_coupler(*args, "--json", "--config", demo.config, cwd=demo.directory, env=SECRETS)
        if command[0] == "match" and command[1] == "SALESPEOPLE":
            with closing(sqlite3.connect(demo.directory / "coupler-state.db")) as state:
                salesperson = state.execute(
                    "SELECT local_key FROM coupler_couplings WHERE mapping = 'SALESPEOPLE' ORDER BY local_key"
                ).fetchone()[0]
        bc, dv = bc_log.take(), dv_log.take()
        per_command.append((" ".join(command), len(bc), len(schema_asked(bc)), len(dv), len(schema_asked(dv))))
    for line in per_command:  # the measurement, shown with -s: BC requests (schema), Dataverse requests (schema)
        print(f"{line[0]:40} BC {line[1]:3} ({line[2]:2})  Dataverse {line[3]:3} ({line[4]:2})")
    totals = Counter[str]()
    for _, bc_all, bc_schema, dv_all, dv_schema in per_command:
        totals.update(bc=bc_all, bc_schema=bc_schema, dv=dv_all, dv_schema=dv_schema)
    print(dict(totals))  # before the schema was kept: 201 requests, 171 of them about a schema

    checked, *later = per_command
    assert checked[2] > 0 and checked[4] > 0, "check reads both schemas afresh"
    assert [c for c in later if c[2] or c[4]] == [], "no later command asks about a schema again"
    quiet = [c for c in per_command if c[0] in ("sync CURRENCY", "status SALESPEOPLE {salesperson}")]
    assert quiet and all(c[1] <= 1 and c[3] <= 2 for c in quiet[1:]), quiet

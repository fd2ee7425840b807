"""Requests per synchronization over the local servers: what each common path costs, pinned, and echoes of
coupler's own Dataverse writes recognised without reading or writing Business Central.

600 customers behind the Business Central server, their accounts behind the Dataverse server, one bidirectional
CUSTOMER mapping and a [sync] batch_size of 250 (so that the engine takes several pages per read)."""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from coupler.bootstrap import open_coupler
from coupler.domain.mapping import Side
from coupler.domain.records import RecordUpdate
from coupler.services.api import Coupler
from coupler.testing import (
    BcCompany,
    BcTable,
    DataverseTable,
    TlsFiles,
    TokenIssuer,
    business_central_app,
    dataverse_app,
    serve,
)

from .support import BC_CLIENT, DV_CLIENT, TENANT, execute

ROWS = 600
COMPANY = BcCompany(id="5e1f0c2a-0000-4000-8000-0000000c0c0c", name="CRONUS Counts")
FIELDS = [("displayName", "name"), ("city", "address1_city"), ("phoneNumber", "telephone1"), ("website", "websiteurl")]
STAMP = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Log:
    """The requests a server answered: (method, path), in order."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"].rsplit("/", 1)[-1]))
            await app(scope, receive, send)

        return logged

    def take(self) -> list[tuple[str, str]]:
        taken, self.requests = self.requests, []
        return taken


@dataclass
class Swap:
    """An app that can be replaced while served at the same URL (a server restarted over a changed schema)."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class Pair:
    directory: Path
    bc: Log
    dv: Log
    coupler: Coupler
    bc_app: Swap

    def take(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return self.bc.take(), self.dv.take()


def _table(db: sqlite3.Connection, table: str, key: str, columns: list[str], modified: str) -> None:
    db.execute(f'CREATE TABLE "{table}" ("{key}" TEXT PRIMARY KEY, {", ".join(columns)}, "{modified}" TEXT)')
    for event in ("INSERT", "UPDATE OF " + ", ".join(columns)):
        db.execute(
            f'CREATE TRIGGER "{table}_{event[:6].lower()}" AFTER {event} ON "{table}" BEGIN '
            f'UPDATE "{table}" SET "{modified}" = {STAMP} WHERE rowid = NEW.rowid; END'
        )


def build(directory: Path) -> None:
    with closing(sqlite3.connect(directory / "erp.db")) as erp:
        _table(erp, "customers", "id", ["number", *(a for a, _ in FIELDS)], "lastModifiedDateTime")
        erp.executemany(
            "INSERT INTO customers (id, number, displayName, city, phoneNumber, website) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (str(uuid.UUID(int=n + 1)), f"C{n:05d}", f"Customer {n}", "Aarhus", f"+45 {n:08d}", None)
                for n in range(ROWS)
            ],
        )
        erp.commit()
    with closing(sqlite3.connect(directory / "crm.db")) as crm:
        _table(crm, "account", "accountid", ["accountnumber", *(b for _, b in FIELDS)], "modifiedon")
        crm.commit()


def config(directory: Path, *, erp: str, crm: str, oauth: str, ca_file: Path) -> Path:
    def sign_in(client: str, secret: str) -> str:
        return (
            f'tenant_id = "{TENANT}"\nclient_id = "{client}"\nclient_secret = "${{{secret}}}"\n'
            f'authority = "{oauth}"\nverify = "{ca_file}"'
        )

    fields = ",\n  ".join(f'{{ local = "{a}", integration = "{b}" }}' for a, b in FIELDS)
    text = f"""
state = "sqlite:///state.db"
[sync]
batch_size = 250
[local]
name = "Business Central"
kind = "business-central"
url = "{erp}/v2.0/{TENANT}/production/api/v2.0"
company = "{COMPANY.name}"
{sign_in(BC_CLIENT, "HTTP_E2E_BC_SECRET")}
[integration]
name = "Dataverse"
kind = "dataverse"
url = "{crm}"
{sign_in(DV_CLIENT, "HTTP_E2E_DATAVERSE_SECRET")}
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
local = {{ table = "customers", key = "id", display_key = "number", modified_on = "lastModifiedDateTime" }}
integration = {{ table = "accounts", key = "accountid", display_key = "name", modified_on = "modifiedon" }}
fields = [
  {fields},
  {{ local = "number", integration = "accountnumber", direction = "to-integration" }},
]
"""
    path = directory / "coupler.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def pair(tmp_path: Path, issuer: TokenIssuer, oauth: str, tls: TlsFiles, secrets: dict[str, str]) -> Iterator[Pair]:
    build(tmp_path)
    bc_log, dv_log = Log(), Log()
    bc = Swap(bc_server(tmp_path, issuer))
    dv = dataverse_app(
        f"sqlite:///{tmp_path / 'crm.db'}",
        tables={"accounts": DataverseTable(table="account", key="accountid", primary_name="name")},
        auth=issuer,
    )
    with ExitStack() as stack:
        erp = stack.enter_context(serve(bc_log.wrap(bc)))
        crm = stack.enter_context(serve(dv_log.wrap(dv)))
        path = config(tmp_path, erp=erp, crm=crm, oauth=oauth, ca_file=tls.ca_file)
        coupler = stack.enter_context(open_coupler(path))
        yield Pair(directory=tmp_path, bc=bc_log, dv=dv_log, coupler=coupler, bc_app=bc)


def bc_server(directory: Path, issuer: TokenIssuer) -> ASGIApp:
    """The Business Central server over ``erp.db``, its schema read from the database as it is now."""
    return business_central_app(
        f"sqlite:///{directory / 'erp.db'}",
        companies=[COMPANY],
        tables={"customers": BcTable(table="customers", entity_type="customer")},
        auth=issuer,
    )


def full_sync(pair: Pair) -> None:
    pair.take()
    report = pair.coupler.sync_full("CUSTOMER")
    assert report.ok and report.job.counters.inserted == ROWS, report.errors


def customers(pair: Pair, where: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(pair.directory / "erp.db")) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(f"SELECT * FROM customers WHERE {where}")]


def test_a_full_synchronization_costs_a_request_per_page_written_not_per_page_read(pair: Pair) -> None:
    full_sync(pair)
    bc, dv = pair.take()
    # Business Central: the company, a look at both sides' records (refusing a duplicating first sync), and the
    # 600 customers read in one request although the engine takes them 250 at a time
    assert bc == [("GET", "companies"), ("GET", "customers"), ("GET", "customers")]
    creates = [r for r in dv if r[1].endswith("CreateMultiple")]
    # [sync] batch_size = 250: a page of 250 is spread over 2 CreateMultiple requests of 125 sent side by side
    # (SPREAD_FLOOR: none under 100), the last page of 100 in one
    assert len(creates) == 5, "two CreateMultiple requests per page of 250, one for the last 100"
    assert dv[:2] == [("GET", "accounts"), ("GET", "sdkmessagefilters")], "the first look; CreateMultiple asked once"
    assert dv[-1] == ("GET", "accounts"), "the reverse pass: 600 accounts in one page"
    assert Counter(dv[2:-1]) == Counter(
        {
            ("POST", "Microsoft.Dynamics.CRM.CreateMultiple"): 5,
            ("POST", "$batch"): 2,  # the new rows' modified-on and ETags read back: 250 keys, 3 or-chains, one $batch
            ("GET", "WhoAmI"): 1,  # once per connector, when rows first say who modified them
            ("GET", "accounts"): 1,  # the last 100 read back: one GET
        }
    )


def test_an_incremental_run_costs_one_read_of_changes_one_of_partners_and_one_write_per_side(pair: Pair) -> None:
    full_sync(pair)
    assert execute(pair.directory / "erp.db", "UPDATE customers SET city = 'Odense' WHERE rowid % 20 = 1") == 30
    # 30 accounts change on the other side: 2 of them (C00000, C00020) pairs whose customer changed too, in another
    # field, which each pass carries its way (the second pass picks them up in its read of changes)
    changed = execute(
        pair.directory / "crm.db",
        "UPDATE account SET websiteurl = 'https://x.example' WHERE accountnumber IN "
        "(SELECT accountnumber FROM account ORDER BY accountnumber LIMIT 30 OFFSET 0)",
    )
    assert changed == 30
    pair.take()
    report = pair.coupler.sync_modified()[0]
    counters = report.job.counters
    assert report.ok and counters.conflicts == 0 and counters.failed == 0, report.errors
    assert counters.modified == 60
    bc, dv = pair.take()
    # per pass: one read of the source's changes, one of the partners (30 keys: one GET), one write $batch
    assert bc == [("GET", "customers"), ("GET", "customers"), ("POST", "$batch")], bc
    assert dv == [("GET", "accounts"), ("POST", "$batch"), ("GET", "accounts")], dv
    assert customers(pair, "website = 'https://x.example'") and customers(pair, "city = 'Odense'")

    assert pair.coupler.sync_modified()[0].job.counters.total == 0
    assert pair.take() == ([("GET", "customers")], [("GET", "accounts")]), "a run with nothing to do: one read each"


def test_reading_600_records_by_key_costs_one_request_on_either_side(pair: Pair) -> None:
    full_sync(pair)
    mapping = pair.coupler.systems.mapping("CUSTOMER")
    couplings = pair.coupler.systems.store.couplings.page("CUSTOMER", limit=ROWS)
    for side, log in ((Side.LOCAL, pair.bc), (Side.INTEGRATION, pair.dv)):
        pair.take()
        keys = [c.key(side) for c in couplings]
        records = pair.coupler.systems.connector(side).read(mapping.spec(side), keys, columns=mapping.columns(side))
        assert len(records) == ROWS
        sent = log.take()
        # the or-chains spread over $batch requests of at least READ_FLOOR (4) chains, sent side by side: 3 or 6
        assert sent == [("POST", "$batch")], "600 keys: one request (fewer than 2 x READ_FLOOR chains)"


def test_an_echo_of_couplers_own_dataverse_write_costs_no_business_central_request(pair: Pair) -> None:
    """Accounts touched again by coupler's application user (a plugin, a second write) with their values as
    coupler left them: Dataverse says coupler modified them last, so the run recognises its own write and neither
    reads nor writes Business Central. A user's change made the same way flows."""
    full_sync(pair)
    systems = pair.coupler.systems
    spec = systems.mapping("CUSTOMER").integration
    couplings = systems.store.couplings.page("CUSTOMER", limit=5)
    accounts = systems.integration.read(spec, [c.integration_key for c in couplings], columns=["name"])
    results = systems.integration.update(  # the same values, written as coupler's user: a new modifiedon
        spec, [RecordUpdate(key=a.key, values={"name": a.get("name")}) for a in accounts]
    )
    assert all(r.ok for r in results)
    pair.take()
    report = pair.coupler.sync_modified()[0]
    assert report.ok and report.job.counters.total == 0, report.job.counters.as_dict()
    bc, dv = pair.take()
    assert bc == [("GET", "customers")], "only the read of the customers' changes: no partner read, no write"
    assert dv == [("GET", "accounts")]
    stored = systems.store.couplings.get("CUSTOMER", Side.LOCAL, couplings[0].local_key)
    assert stored is not None and stored.integration_modified_on == results[0].modified_on

    assert pair.coupler.sync_modified()[0].job.counters.total == 0, "recognised once, then in sync"
    execute(pair.directory / "crm.db", f"UPDATE account SET name = 'Renamed' WHERE accountid = '{accounts[0].key}'")
    pair.take()
    report = pair.coupler.sync_modified()[0]
    assert report.job.counters.modified == 1, "a user's change is never taken for an echo"
    assert customers(pair, "displayName = 'Renamed'")

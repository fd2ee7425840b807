"""The demo behind the local Dataverse and Business Central servers: config, scenario, and database snapshots.

``http_config`` writes the demo's own mappings (``demo_config``) with the CRM tables named as Dataverse entity sets
and both sides reached over HTTP, signed in through the OAuth stub with msal. ``run_scenario`` runs the demo's sync
scenarios through the Python API and returns each step's counters, so the same scenario can run over HTTP and over
the SQL connectors and be compared. ``snapshot`` reads a database as a user sees it: keys, modified-on stamps and
the test servers' bookkeeping left out, and GUIDs that point at records replaced by those records' names.
"""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DataverseSettings
from coupler.bootstrap import open_coupler
from coupler.config.files import SideModel
from coupler.config.writer import render_config
from coupler.demo.config_template import DEMO_COMMENTS, demo_config
from coupler.demo.crm.schema import crm_metadata
from coupler.demo.erp.schema import erp_metadata
from coupler.domain.mapping import Side
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.testing import Faults, ServedUrl

__all__ = [
    "BC_CLIENT",
    "DV_CLIENT",
    "ENTITY_SETS",
    "SECRETS",
    "TENANT",
    "HttpDemo",
    "Step",
    "add_accounts",
    "http_config",
    "run_scenario",
    "snapshot",
]

TENANT = "7f0c2a51-1d9e-4c8a-9a51-3c0de0000001"
DV_CLIENT = "0d4e7a8b-0000-4000-8000-00000000d365"
BC_CLIENT = "0b0c0000-0000-4000-8000-0000000000bc"
SECRETS = {"HTTP_E2E_DATAVERSE_SECRET": "dv-s3cr3t-value", "HTTP_E2E_BC_SECRET": "bc-s3cr3t-value"}
ENTITY_SETS = {
    "systemuser": "systemusers",
    "transactioncurrency": "transactioncurrencies",
    "account": "accounts",
    "contact": "contacts",
    "product": "products",
}
"""The demo CRM's tables (Dataverse logical names) -> the entity sets the Dataverse server serves them as."""


def http_config(*, erp: str, crm: str, oauth: str, ca_file: Path, company: str, state: str) -> str:
    """The demo's coupler.toml with both sides over HTTP (secrets as ${VAR} references)."""
    sign_in = {"tenant_id": TENANT, "authority": oauth, "verify": str(ca_file)}
    local = BusinessCentralSettings(
        name="Business Central (test server)",
        url=f"{erp}/v2.0/{TENANT}/production/api/v2.0",
        company=company,
        client_id=BC_CLIENT,
        client_secret=SecretStr("${HTTP_E2E_BC_SECRET}"),
        **sign_in,
    )
    integration = DataverseSettings(
        name="Dynamics 365 Sales (test server)",
        url=crm,
        client_id=DV_CLIENT,
        client_secret=SecretStr("${HTTP_E2E_DATAVERSE_SECRET}"),
        **sign_in,
    )
    demo = demo_config(state_url=state)
    mappings = [
        m.model_copy(
            update={
                "local": _over_business_central(m.local),
                "integration": m.integration.model_copy(update={"table": ENTITY_SETS[m.integration.table]}),
            }
        )
        for m in demo.mappings
    ]
    config = demo.model_copy(update={"local": local, "integration": integration, "mappings": mappings})
    body = {path: text for path, text in DEMO_COMMENTS.above.items() if path != ()}  # the head is about the SQL demo
    return render_config(config, dataclasses.replace(DEMO_COMMENTS, above=body))


def _over_business_central(side: SideModel) -> SideModel:
    """The demo's ERP side as the Business Central server serves it: erp.db's blank Blocked ('') is the enum's blank
    member " " (``_x0020_`` on the wire), so the CUSTOMER filter is ``blocked eq " "`` as in the bc-sales template."""
    if side.table != "customers":
        return side
    blank = [c.model_copy(update={"value": " "}) if c.field == "blocked" and c.value == "" else c for c in side.filter]
    return side.model_copy(update={"filter": blank})


@dataclass(frozen=True, kw_only=True)
class HttpDemo:
    """A private demo served over HTTP: its folder, config, the two servers' URLs and their fault switches."""

    directory: Path
    config: Path
    erp_url: ServedUrl
    crm_url: ServedUrl
    bc_faults: Faults
    dv_faults: Faults

    @property
    def erp(self) -> Path:
        return self.directory / "erp.db"

    @property
    def crm(self) -> Path:
        return self.directory / "crm.db"

    def open(self) -> Coupler:
        return open_coupler(self.config)

    @property
    def requests_served(self) -> int:
        return self.erp_url.requests_served + self.crm_url.requests_served


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of the scenario: what ran and the counters of its jobs (mapping, kind, counters)."""

    command: str
    jobs: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...]

    @staticmethod
    def of(command: str, reports: Sequence[JobReport]) -> Step:
        jobs = tuple(
            (r.job.mapping, r.job.kind.value, tuple(sorted(r.job.counters.as_dict().items()))) for r in reports
        )
        return Step(command=command, jobs=jobs)

    def counters(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for _, _, counters in self.jobs:
            total.update(dict(counters))
        return total


def execute(db: Path, sql: str, params: Sequence[Any] = ()) -> int:
    """One statement on a demo database, committed (as a user would with any SQLite tool)."""
    with closing(sqlite3.connect(db, timeout=30)) as connection:
        changed = connection.execute(sql, params).rowcount
        connection.commit()
        return changed


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(db, timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params)]


def add_accounts(crm: Path, names: Sequence[str]) -> None:
    """Active customer accounts that exist in Sales only (a Sales user created them), owned by a user who is a
    salesperson, in the base currency."""
    with closing(sqlite3.connect(crm, timeout=30)) as connection:
        owner = connection.execute("SELECT ownerid FROM account WHERE ownerid IS NOT NULL LIMIT 1").fetchone()[0]
        connection.executemany(
            "INSERT INTO account (name, address1_city, address1_country, statecode, customertypecode, ownerid) "
            "VALUES (?, 'Odense', 'DK', 0, 3, ?)",
            [(name, owner) for name in names],
        )
        connection.commit()


# The edits the scenario makes between runs, on records the demo always has (its data is seeded).
EDITS = {
    "customer city": ("erp", "UPDATE customers SET city = 'Aarhus' WHERE number = 'C00010'"),
    "account phone": ("crm", "UPDATE account SET telephone1 = '+45 70 10 20 30' WHERE name = 'Trey Research'"),
    "item price": ("erp", "UPDATE items SET unitPrice = 1111.5 WHERE number = '1896-S'"),
    "contact job title": ("crm", "UPDATE contact SET jobtitle = 'Head of Purchasing' WHERE emailaddress1 = ("
                          "SELECT emailaddress1 FROM contact WHERE emailaddress1 IS NOT NULL ORDER BY emailaddress1 "
                          "LIMIT 1)"),
}  # fmt: skip


def run_scenario(coupler: Coupler, erp: Path, crm: Path, *, between: Callable[[], None] = lambda: None) -> list[Step]:
    """The demo's sync scenarios: match-based coupling, full synchronizations, create and couple, incremental runs
    that carry changes both ways, and a run that finds nothing to do. ``between`` runs before each step (faults)."""
    steps: list[Step] = []

    def step(command: str, run: Callable[[], JobReport | list[JobReport]]) -> None:
        between()
        result = run()
        steps.append(Step.of(command, result if isinstance(result, list) else [result]))

    step(
        "match SALESPEOPLE --sync-after integration", lambda: coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
    )
    step("match CURRENCY --sync-after local", lambda: coupler.match("CURRENCY", sync_after=Side.LOCAL))
    step(
        "match ITEM-PRODUCT --create-missing --sync-after local",
        lambda: coupler.match("ITEM-PRODUCT", create_missing=True, sync_after=Side.LOCAL),
    )
    for name in ("CURRENCY", "SALESPEOPLE", "ITEM-PRODUCT"):
        step(f"sync {name} --full", functools.partial(coupler.sync_full, name))
    step(
        "match CUSTOMER --create-missing --sync-after local",
        lambda: coupler.match("CUSTOMER", create_missing=True, sync_after=Side.LOCAL),
    )
    step("sync CUSTOMER --full", lambda: coupler.sync_full("CUSTOMER"))
    step("match CONTACT --create-missing", lambda: coupler.match("CONTACT", create_missing=True))
    step("sync CONTACT --full", lambda: coupler.sync_full("CONTACT"))
    step("sync (nothing changed)", coupler.sync_modified)
    for system, sql in EDITS.values():
        assert execute(erp if system == "erp" else crm, sql) == 1, sql
    step("sync (changes on both sides)", coupler.sync_modified)
    step("sync (nothing changed again)", coupler.sync_modified)
    return steps


def snapshot(db: Path, *, erp: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the demo's tables as sorted tuples: no keys, no modified-on, GUIDs replaced by names."""
    metadata = erp_metadata() if erp else crm_metadata()
    names: dict[str, str] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        key = table.info["key"]
        label = _label_column(table.name, erp=erp)
        rows[table.name] = query(db, f'SELECT * FROM "{table.name}"')
        for row in rows[table.name]:
            names[str(row[key])] = f"{table.name}:{row[label]}"
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in metadata.sorted_tables:
        skipped = {table.info["key"], table.info["modified_on"]}
        result[table.name] = sorted(
            (
                tuple((c, names.get(str(v), v)) for c, v in sorted(row.items()) if c not in skipped)
                for row in rows[table.name]
            ),
            key=repr,
        )
    return result


def _label_column(table: str, *, erp: bool) -> str:
    if erp:
        return "code" if table in ("salespeoplePurchasers", "currencies") else "number"
    return {
        "account": "name",
        "contact": "emailaddress1",
        "systemuser": "internalemailaddress",
        "transactioncurrency": "isocurrencycode",
        "product": "productnumber",
    }[table]

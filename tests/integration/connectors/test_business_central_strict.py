"""The Business Central connector against the strict local server (the demo's erp.db): enum members travel encoded
(``_x0020_`` for the blank member " ") and a ``$filter`` holding ``null`` is refused, as the real service may
(src/coupler/testing/business_central/values.py; docs/research/bc-sales-sources.md, points 1 and 9)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest

from coupler.adapters.connectors.business_central import HEADERS, BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.demo import DemoResult, create_demo
from coupler.domain.mapping import Condition, Direction, FieldMapping, Operator, TableMapping, TableSpec
from coupler.domain.records import RecordUpdate
from coupler.domain.transforms.kinds import Transform
from coupler.services.api import Coupler
from coupler.services.context import Systems
from coupler.testing import business_central_app, serve
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY

CUSTOMERS = TableSpec(table="customers", key="id", display_key="number", modified_on="lastModifiedDateTime")
CONTACTS = TableSpec(table="contacts", key="id", display_key="number", modified_on="lastModifiedDateTime")
UNBLOCKED = Condition(field="blocked", op=Operator.EQ, value=" ")
OPTIONS = {" ": 1, "Ship": 2, "Invoice": 3, "All": 4}
"""An option mapping keyed by Business Central's member names, as an administrator writes it."""


class Recording(httpx.HTTPTransport):
    """The real transport, keeping the text of every request sent (URL and body, decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(unquote_plus(str(request.url)) + "\n" + request.read().decode("utf-8", "replace"))
        return super().handle_request(request)


@dataclass
class Erp:
    db: Path
    connector: BusinessCentralConnector
    transport: Recording

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.db)) as connection:
            return list(connection.execute(sql, params))

    def execute(self, sql: str, *params: Any) -> None:
        with closing(sqlite3.connect(self.db)) as connection:
            connection.execute(sql, params)
            connection.commit()

    def filters_sent(self) -> list[str]:
        return [text for text in self.transport.sent if "$filter" in text]  # $batch bodies hold their GETs' URLs


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return create_demo(tmp_path_factory.mktemp("strict-bc-demo"))


@pytest.fixture
def erp(demo_template: DemoResult, tmp_path: Path) -> Iterator[Erp]:
    db = Path(shutil.copy(demo_template.directory / "erp.db", tmp_path / "erp.db"))
    app = business_central_app(f"sqlite:///{db}", companies=[DEMO_COMPANY], tables=DEMO_BC_TABLES)
    with serve(app) as url:
        transport = Recording()
        client = HttpClient(
            f"{url}/v2.0/tenant/production/api/v2.0", system="ERP", headers=HEADERS, transport=transport
        )
        connector = BusinessCentralConnector(client, company=DEMO_COMPANY.name, display_name="ERP")
        yield Erp(db=db, connector=connector, transport=transport)
        connector.close()


def _changed(erp: Erp, spec: TableSpec, columns: list[str]) -> dict[str, dict[str, Any]]:
    pages = erp.connector.changed_since(spec, None, columns=columns, page_size=1000)
    return {record.key: dict(record.values) for page in pages for record in page}


def test_a_customer_blocked_blank_is_read_and_one_blocked_ship_is_filtered_out(erp: Erp) -> None:
    blanks = {key for (key,) in erp.rows("SELECT id FROM customers WHERE blocked = ''")}
    (shipped, number) = erp.rows("SELECT id, number FROM customers WHERE blocked = 'Ship'")[0]
    unblocked = replace(CUSTOMERS, filter=(UNBLOCKED,))

    read = _changed(erp, unblocked, ["number", "blocked"])

    assert read and set(read) == blanks
    assert {values["blocked"] for values in read.values()} == {" "}, "the member's name, not _x0020_"
    assert shipped not in read
    assert erp.connector.find(unblocked, {"number": number}, columns=["number"]) == []
    assert [r.values["blocked"] for r in erp.connector.read(unblocked, [shipped], columns=["blocked"])] == ["Ship"]
    assert any("blocked eq '_x0020_'" in text for text in erp.filters_sent()), "the service's own spelling is sent"
    found = erp.connector.find_any(CUSTOMERS, "blocked", ["Ship", "All"], columns=["blocked"])
    assert {r.values["blocked"] for r in found} == {"Ship", "All"}


def test_a_write_of_the_blank_member_arrives_as_blank(erp: Erp) -> None:
    (key,) = erp.rows("SELECT id FROM customers WHERE blocked = 'Ship'")[0]
    (version,) = [r.version for r in erp.connector.read(CUSTOMERS, [key], columns=[])]

    (result,) = erp.connector.update(CUSTOMERS, [RecordUpdate(key=key, values={"blocked": " "}, version=version)])
    (created,) = erp.connector.insert(CUSTOMERS, [{"displayName": "Invoiced Only", "blocked": "Invoice"}])

    assert result.ok and created.ok, (result, created)
    assert erp.rows("SELECT blocked FROM customers WHERE id = ?", key) == [("",)], "Business Central's blank"
    assert erp.rows("SELECT blocked FROM customers WHERE id = ?", created.key) == [("Invoice",)]
    assert [r.values["blocked"] for r in erp.connector.read(CUSTOMERS, [key], columns=["blocked"])] == [" "]


def test_an_option_mapping_keyed_by_enum_members_maps_both_ways(erp: Erp) -> None:
    crm = InMemoryConnector(display_name="CRM")
    crm.add_table("account", "accountid", ["name", "blockedcode"], modified_on="modifiedon")
    options = Transform(kind="options", params={"values": OPTIONS})
    mapping = TableMapping(
        name="CUSTOMER",
        local=CUSTOMERS,
        integration=TableSpec(table="account", key="accountid", display_key="name", modified_on="modifiedon"),
        direction=Direction.BIDIRECTIONAL,
        fields=(
            FieldMapping(local="displayName", integration="name", direction=Direction.BIDIRECTIONAL),
            FieldMapping(
                local="blocked", integration="blockedcode", direction=Direction.BIDIRECTIONAL, transforms=(options,)
            ),
        ),
        sync_only_coupled=False,
    )
    coupler = Coupler(Systems(local=erp.connector, integration=crm, store=InMemoryStateStore(), mappings=[mapping]))
    stored = {name: blocked for name, blocked in erp.rows("SELECT displayName, blocked FROM customers")}

    report = coupler.sync_full("CUSTOMER")

    assert report.ok, report.errors
    codes = {row["name"]: row["blockedcode"] for row in crm.rows("account")}
    assert codes == {name: OPTIONS[blocked or " "] for name, blocked in stored.items()}, "read as members, mapped"

    shipped = next(name for name, blocked in stored.items() if blocked == "Ship")
    unblocked = next(name for name, blocked in stored.items() if blocked == "")
    for row in crm.rows("account"):
        if row["name"] in (shipped, unblocked):
            crm.put("account", {"accountid": row["accountid"], "blockedcode": 1 if row["name"] == shipped else 4})
    assert all(r.ok for r in coupler.sync_modified()), "the option values written back as members"
    blocked_now = dict(
        erp.rows("SELECT displayName, blocked FROM customers WHERE displayName IN (?, ?)", shipped, unblocked)
    )
    assert blocked_now == {shipped: "", unblocked: "All"}


def test_null_and_ne_on_text_send_no_null_and_select_blank_values(erp: Erp) -> None:
    erp.execute("UPDATE contacts SET jobTitle = '' WHERE jobTitle IS NULL")  # AL text has no null: blank is ''
    erp.execute("UPDATE contacts SET companyNumber = '' WHERE companyNumber IS NULL")
    title = erp.rows("SELECT jobTitle FROM contacts WHERE jobTitle <> '' LIMIT 1")[0][0]

    def selected(*conditions: Condition) -> set[str]:
        return set(_changed(erp, replace(CONTACTS, filter=conditions), ["number"]))

    def expected(where: str, *params: Any) -> set[str]:
        return {key for (key,) in erp.rows(f"SELECT id FROM contacts WHERE {where}", *params)}

    assert selected(Condition(field="jobTitle", op=Operator.IS_NULL)) == expected("jobTitle = ''") != set()
    assert selected(Condition(field="jobTitle", op=Operator.EQ, value=None)) == expected("jobTitle = ''")
    assert selected(Condition(field="jobTitle", op=Operator.NOT_NULL)) == expected("jobTitle <> ''") != set()
    assert selected(Condition(field="jobTitle", op=Operator.NE, value=title)) == expected("jobTitle <> ?", title)
    in_or_blank = Condition(field="jobTitle", op=Operator.IN, value=[title, None])
    assert selected(in_or_blank) == expected("jobTitle IN (?, '')", title)
    persons = (Condition(field="type", value="Person"), Condition(field="companyNumber", op=Operator.NE, value=""))
    assert selected(*persons) == expected("type = 'Person' AND companyNumber <> ''") != set(), "bc-sales' CONTACT"
    assert [r.key for r in erp.connector.find(CONTACTS, {"companyNumber": None}, columns=[])] == sorted(
        expected("companyNumber = ''")
    )

    sent = erp.filters_sent()
    assert sent and not any(" null" in text for text in sent), sent
    assert any("jobTitle eq ''" in text for text in sent) and any("companyNumber ne ''" in text for text in sent)

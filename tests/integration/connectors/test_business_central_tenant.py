"""The Business Central connector against the seeded tenant on the strict server: the local currency (a read-only
``currencies`` row for the LCY, and the round trip of a local-currency customer), computed columns
(``currencies.exchangeRate``, ``contacts.customerNumber``), salesperson codes and ``preflight``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote_plus

import httpx
import pytest

from coupler.adapters.connectors.business_central import BLANK_GUID, HEADERS, BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.mapping import Condition, Direction, FieldMapping, Lookup, Operator, TableMapping, TableSpec
from coupler.domain.records import ChangeCursor, RecordUpdate
from coupler.services.api import Coupler
from coupler.services.context import Systems
from coupler.testing import business_central_app, serve
from coupler.testing.tenant.business_central import BcTenant, business_central_tenant

CURRENCIES = TableSpec(table="currencies", key="id", display_key="code", modified_on="lastModifiedDateTime")
CUSTOMERS = TableSpec(table="customers", key="id", display_key="number", modified_on="lastModifiedDateTime")
CONTACTS = TableSpec(table="contacts", key="id", display_key="number", modified_on="lastModifiedDateTime")
SALESPEOPLE = TableSpec(table="salespeoplePurchasers", key="id", display_key="code", modified_on="lastModifiedDateTime")


class Recording(httpx.HTTPTransport):
    """The real transport, keeping every request sent (method, URL and body)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {unquote_plus(str(request.url))} {request.read().decode()}")
        return super().handle_request(request)


@dataclass
class Bc:
    tenant: BcTenant
    connector: BusinessCentralConnector
    requests: list[str]


def _served(path: Path, version: int, **options: str) -> Iterator[Bc]:
    tenant = business_central_tenant(path, version=version)
    app = business_central_app(tenant.db_url, companies=tenant.companies, tables=tenant.tables, rules=tenant.rules)
    with serve(app) as url:
        transport = Recording()
        client = HttpClient(
            f"{url}/v2.0/tenant/production/api/v2.0", system="ERP", headers=HEADERS, transport=transport
        )
        requests = transport.sent
        connector = BusinessCentralConnector(client, company="CRONUS USA, Inc.", display_name="Business Central",
                                             **options)  # type: ignore[arg-type]  # fmt: skip
        connector.today = lambda: date(2026, 12, 7)
        yield Bc(tenant=tenant, connector=connector, requests=requests)
        connector.close()


@pytest.fixture
def bc(tmp_path: Path) -> Iterator[Bc]:
    yield from _served(tmp_path / "bc.db", 26)


def test_the_lcy_is_one_more_read_only_currency(bc: Bc) -> None:
    columns = ["code", "displayName", "symbol", "exchangeRate"]
    rows = {r.values["code"]: r for page in bc.connector.changed_since(CURRENCIES, None, columns=columns,
                                                                      page_size=100) for r in page}  # fmt: skip
    assert sorted(rows) == ["CAD", "EUR", "GBP", "USD"]
    usd = rows["USD"]
    assert (usd.key, usd.values["symbol"], usd.values["exchangeRate"]) == (BLANK_GUID, "$", 1.0)
    assert usd.modified_on == datetime(2000, 1, 1, tzinfo=UTC)
    later = ChangeCursor(stamp=datetime(2026, 1, 1, tzinfo=UTC), key=None)
    assert not [r for p in bc.connector.changed_since(CURRENCIES, later, columns=columns, page_size=100) for r in p
                if r.key == BLANK_GUID]  # fmt: skip
    assert [r.key for r in bc.connector.read(CURRENCIES, [BLANK_GUID], columns=["code"])] == [BLANK_GUID]
    assert [r.key for r in bc.connector.find(CURRENCIES, {"code": "USD"}, columns=[])] == [BLANK_GUID]
    found = bc.connector.find_any(CURRENCIES, "code", ["USD", "EUR"], columns=["code"])
    assert sorted(r.values["code"] for r in found) == ["EUR", "USD"]
    not_usd = replace(CURRENCIES, filter=(Condition(field="code", op=Operator.NE, value="USD"),))
    assert bc.connector.find(not_usd, {"code": "USD"}, columns=[]) == [], "the spec's filter holds for it too"
    assert [r.values["code"] for r in bc.connector.search(CURRENCIES, ["code"], "us", columns=["code"])] == ["USD"]
    (refused,) = bc.connector.update(CURRENCIES, [RecordUpdate(key=BLANK_GUID, values={"displayName": "Dollar"})])
    assert refused.error and "USD is Business Central's local currency (General Ledger Setup)" in refused.error
    (gone,) = bc.connector.delete(CURRENCIES, [BLANK_GUID])
    assert gone.error and "cannot be changed from Dynamics 365 Sales" in gone.error


def test_the_local_currency_setting_overrides_what_is_learnt(tmp_path: Path) -> None:
    for bc in _served(tmp_path / "bc.db", 26, local_currency="cad"):
        codes = [r.values["code"] for r in bc.connector.find(CURRENCIES, {"code": "CAD"}, columns=["code"])]
        assert codes == ["CAD", "CAD"]  # the real CAD row, and the LCY the settings name
        lcy = bc.connector.local_currency()
        assert lcy is not None and (lcy.code, lcy.source) == ("CAD", "coupler's settings")


def test_exchange_rates_are_computed_per_lcy_and_never_sent(bc: Bc) -> None:
    assert "exchangeRate" in (bc.connector.describe("currencies") or {})
    assert bc.connector.describe("currencies")["exchangeRate"].type == "decimal"  # type: ignore[index]
    dear = replace(CURRENCIES, filter=(Condition(field="exchangeRate", op=Operator.LT, value=1),))
    rates = {r.values["code"]: r.values["exchangeRate"] for p in bc.connector.changed_since(dear, None,
             columns=["code", "exchangeRate"], page_size=100) for r in p}  # fmt: skip
    assert rates == {"EUR": round(100 / 110.2, 10), "GBP": round(100 / 127.0, 10)}, "latest rate, filter per row"
    bc.connector.today = lambda: date(2026, 3, 1)
    bc.connector.refresh_metadata()
    (eur,) = bc.connector.find(CURRENCIES, {"code": "EUR"}, columns=["exchangeRate"])
    assert eur.values["exchangeRate"] == round(100 / 108.5, 10)
    currencies = [r for r in bc.requests if "/currencies?" in r]
    assert currencies and not any("exchangeRate" in r for r in currencies), currencies


def test_a_local_currency_customer_round_trips_through_the_currency_couplings(bc: Bc) -> None:
    crm = InMemoryConnector(display_name="Dataverse")
    crm.add_table("transactioncurrency", "transactioncurrencyid", ["isocurrencycode", "currencyname"],
                  modified_on="modifiedon")  # fmt: skip
    crm.add_table("account", "accountid", ["name", "transactioncurrencyid"], modified_on="modifiedon")
    crm.put(
        "transactioncurrency", {"transactioncurrencyid": "usd", "isocurrencycode": "USD", "currencyname": "US Dollar"}
    )
    crm.put("transactioncurrency", {"transactioncurrencyid": "eur", "isocurrencycode": "EUR", "currencyname": "Euro"})
    currency = TableMapping(
        name="CURRENCY", local=CURRENCIES,
        integration=TableSpec(table="transactioncurrency", key="transactioncurrencyid", display_key="isocurrencycode",
                              modified_on="modifiedon"),
        direction=Direction.TO_INTEGRATION,
        fields=(FieldMapping(local="code", integration="isocurrencycode", direction=Direction.TO_INTEGRATION,
                             match_priority=1),
                FieldMapping(local="displayName", integration="currencyname", direction=Direction.TO_INTEGRATION)),
        sync_only_coupled=False,
    )  # fmt: skip
    unblocked = Condition(field="blocked", op=Operator.EQ, value=" ")
    customer = TableMapping(
        name="CUSTOMER", local=replace(CUSTOMERS, filter=(unblocked,)),
        integration=TableSpec(table="account", key="accountid", display_key="name", modified_on="modifiedon"),
        direction=Direction.BIDIRECTIONAL,
        fields=(FieldMapping(local="displayName", integration="name", direction=Direction.BIDIRECTIONAL),
                FieldMapping(local="currencyCode", integration="transactioncurrencyid",
                             direction=Direction.BIDIRECTIONAL, lookup=Lookup(mapping="CURRENCY", local_by="code"))),
        sync_only_coupled=False,
    )  # fmt: skip
    coupler = Coupler(Systems(local=bc.connector, integration=crm, store=InMemoryStateStore(),
                              mappings=[currency, customer]))  # fmt: skip

    matched = coupler.match("CURRENCY", create_missing=True)
    assert matched.ok, matched.errors
    assert coupler.sync_full("CURRENCY").ok
    report = coupler.sync_full("CUSTOMER")
    assert report.ok, report.errors
    accounts = {row["name"]: row["transactioncurrencyid"] for row in crm.rows("account")}
    assert accounts["Adatum Corporation"] == "usd" and accounts["Trey Research"] == "eur"
    assert sorted(r["isocurrencycode"] for r in crm.rows("transactioncurrency")) == ["CAD", "EUR", "GBP", "USD"]

    trey = next(row for row in crm.rows("account") if row["name"] == "Trey Research")
    crm.put("account", {**trey, "transactioncurrencyid": "usd"})
    assert all(r.ok for r in coupler.sync_modified(["CUSTOMER"]))
    (stored,) = bc.connector.find(CUSTOMERS, {"number": "C00020"}, columns=["currencyCode"])
    assert stored.values["currencyCode"] == "USD"
    with __import__("sqlite3").connect(bc.tenant.path) as db:
        assert db.execute("SELECT currencyCode FROM customers WHERE number = 'C00020'").fetchone() == ("",)
    again = coupler.sync_modified(["CUSTOMER"])
    assert all(r.ok for r in again) and sum(r.job.counters.modified for r in again) == 0, "nothing flips back"


def test_a_persons_customer_number_is_read_and_written(bc: Bc) -> None:
    persons = {r.values["number"]: r.values["customerNumber"] for p in bc.connector.changed_since(
        CONTACTS, None, columns=["number", "customerNumber", "vendorNumber"], page_size=100) for r in p}  # fmt: skip
    assert persons["CT000011"] == "C00010" and persons["CT000091"] == "" and persons["CT000010"] == ""
    assert persons["CT000021"] == "C00020"
    batches = [r for r in bc.requests if "$batch" in r]
    assert len(batches) == 2, "one $batch for the customers' contacts, one for the vendors'"
    (made,) = bc.connector.insert(
        CONTACTS, [{"displayName": "Ann Beebe", "type": "Person", "customerNumber": "C00020"}]
    )
    assert made.ok, made.error
    (again,) = bc.connector.read(CONTACTS, [str(made.key)], columns=["companyNumber", "customerNumber"])
    assert again.values == {"companyNumber": "CT000020", "customerNumber": "C00020"}
    (art,) = bc.connector.insert(CONTACTS, [{"displayName": "Ben", "type": "Person", "customerNumber": "C00030"}])
    assert art.ok and bc.connector.read(CONTACTS, [str(art.key)], columns=["companyNumber"])[0].values == {
        "companyNumber": "CT000030"
    }
    (refused,) = bc.connector.insert(CONTACTS, [{"displayName": "X", "type": "Person", "customerNumber": "C00080"}])
    assert refused.error and "Customer C00080 has no company contact" in refused.error


def test_a_salesperson_without_a_code_gets_the_next_sp_no(bc: Bc) -> None:
    results = bc.connector.insert(SALESPEOPLE, [{"displayName": "Annette Hill"}, {"displayName": "Kim Abercrombie"}])
    assert all(r.ok for r in results), results
    codes = [r.values["code"] for r in bc.connector.read(SALESPEOPLE, [str(r.key) for r in results], columns=["code"])]
    assert codes == ["SP NO. 00001", "SP NO. 00002"]
    (third,) = bc.connector.insert(SALESPEOPLE, [{"displayName": "Ben Smith"}])
    assert bc.connector.read(SALESPEOPLE, [str(third.key)], columns=["code"])[0].values["code"] == "SP NO. 00003"


MAPPED = {"customers": ["number"], "currencies": ["code", "exchangeRate"], "salespeoplePurchasers": ["code"]}


def test_preflight_at_version_26(bc: Bc) -> None:
    findings = bc.connector.preflight(MAPPED)
    assert all(f.ok for f in findings), findings
    assert any("LCY) is USD (General Ledger Setup)" in f.message for f in findings)
    missing = bc.connector.preflight({"customers": ["number"], "priceLists": ["code"]})
    assert [f.message for f in missing if not f.ok] == [
        "The API v2.0 entity priceLists is missing from this environment."
    ]


def test_preflight_at_version_25_names_the_missing_salespeople(tmp_path: Path) -> None:
    for bc in _served(tmp_path / "bc25.db", 25):
        failed = [f for f in bc.connector.preflight(MAPPED) if not f.ok]
        assert [f.topic for f in failed] == ["salespeoplePurchasers"]
        assert failed[0].message.startswith("SALESPEOPLE needs Business Central 26.0 (2025 release wave 1) or later")


def test_preflight_of_an_unknown_company(tmp_path: Path) -> None:
    for bc in _served(tmp_path / "bc.db", 26):
        bc.connector._company = "Nowhere"
        (finding,) = bc.connector.preflight(MAPPED)
        assert not finding.ok and "Nowhere" in finding.message and "Microsoft Entra Applications" in finding.advice


def test_a_blank_reference_is_read_as_null_and_null_is_written_blank(bc: Bc) -> None:
    """AL has no null: a customer without payment terms has the blank GUID, which stands for a Dataverse lookup's
    null (the bc-sales template translates paymentTermsId through the PAYMENT TERMS couplings)."""
    spec = replace(CUSTOMERS, filter=(Condition(field="shipmentMethodId", op=Operator.IS_NULL),))
    found = bc.connector.find_any(spec, "number", ["C00080", "C00010"], columns=["number", "shipmentMethodId"])
    assert [(r.values["number"], r.values["shipmentMethodId"]) for r in found] == [("C00080", None)]
    assert any("shipmentMethodId eq 00000000-0000-0000-0000-000000000000" in r for r in bc.requests), bc.requests
    key = found[0].key
    (written,) = bc.connector.update(CUSTOMERS, [RecordUpdate(key=key, values={"paymentTermsId": None})])
    assert written.error is None, written.error
    (after,) = bc.connector.read(CUSTOMERS, [key], columns=["paymentTermsId"])
    assert after.values["paymentTermsId"] is None
    db = bc.tenant.path
    import sqlite3

    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT paymentTermsId FROM customers WHERE number = 'C00080'").fetchone()[0]
    assert stored == BLANK_GUID


def test_the_lcy_row_travels_in_full_pages(bc: Bc) -> None:
    """A short page is the last one (`coupler review` stops counting at it): the LCY's row shares the first page."""
    pages = list(bc.connector.changed_since(CURRENCIES, None, columns=["code"], page_size=3))
    assert [len(p) for p in pages] == [3, 1]
    assert sorted(r.values["code"] for p in pages for r in p) == ["CAD", "EUR", "GBP", "USD"]

"""The believable Business Central tenant: company "CRONUS USA, Inc." with its LCY (USD), currencies and exchange
rates, salespeople, payment terms, shipment methods, customers (blocked and not, in several currencies), vendors,
company and person contacts with their business relations, units of measure and items.

``business_central_tenant(path)`` writes a SQLite database at ``path`` and returns what ``business_central_app``
needs; ``version=25`` leaves out ``salespeoplePurchasers`` (the entity set appeared in Business Central 26.0: see
docs/research/bc-sales-sources.md, "Point 6"). The entity shapes are API v2.0's (the APIV2 pages in BCApps
``src/Apps/W1/APIV2/app/src/pages/``, research doc table 1.9); the data is the contract of /work BRIEF "The believable
tenant", shared with the Dataverse tenant.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupler.testing.business_central.entities import BLANK_GUID, create_tables, entity_tables
from coupler.testing.business_central.rules import BcRules
from coupler.testing.odata.tables import BcCompany, BcTable

__all__ = [
    "BC_COMPANY",
    "BcTenant",
    "bc_id",
    "business_central_tables",
    "business_central_tenant",
]

BC_COMPANY = BcCompany(
    id="3d5b2137-efeb-4a2e-8c5d-0b7c2a5d1f00", name="CRONUS USA, Inc.", display_name="CRONUS USA, Inc."
)
STAMP = "2026-01-15T09:00:00.000Z"
_NS = uuid.UUID("5f1c7d3e-8a2b-4c6d-9e0f-1a2b3c4d5e6f")


def bc_id(kind: str, code: str) -> str:
    """The tenant's stable SystemId of a record (``bc_id("customer", "C00010")``)."""
    return str(uuid.uuid5(_NS, f"{kind}:{code}"))


@dataclass(frozen=True, kw_only=True)
class BcTenant:
    """What ``business_central_app`` needs: ``business_central_app(t.db_url, companies=t.companies,
    tables=t.tables, rules=t.rules)``."""

    db_url: str
    path: Path
    version: int
    companies: Sequence[BcCompany] = (BC_COMPANY,)
    tables: Mapping[str, BcTable] = field(default_factory=dict)
    rules: BcRules = field(default_factory=BcRules)


def business_central_tables(*, version: int = 26) -> dict[str, BcTable]:
    """The tenant's entity sets; before 26 there is no ``salespeoplePurchasers``."""
    return entity_tables(version=version)


def business_central_tenant(path: Path, *, version: int = 26) -> BcTenant:
    """Write the tenant's database at ``path`` (replacing it) and return how to serve it."""
    path.unlink(missing_ok=True)
    tables = business_central_tables(version=version)
    with closing(sqlite3.connect(path)) as db:
        create_tables(db, set(tables))
        _seed(db, tables)
        db.commit()
    return BcTenant(db_url=f"sqlite:///{path}", path=path, version=version, tables=tables, rules=BcRules())


def _insert(db: sqlite3.Connection, table: str, kind: str, name: str, **values: Any) -> str:
    key = bc_id(kind, name)
    row = {"id": key, **values, "lastModifiedDateTime": STAMP}
    names = ", ".join(f'"{n}"' for n in row)
    db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(row))})', list(row.values()))
    return key


def _seed(db: sqlite3.Connection, tables: Mapping[str, BcTable]) -> None:
    _insert(
        db,
        "companyInformation",
        "companyInformation",
        "CRONUS",
        displayName=BC_COMPANY.name,
        addressLine1="7122 South Ashford Street",
        city="Atlanta",
        country="US",
        postalCode="31772",
        phoneNumber="+1 425 555 0100",
        email="info@cronus.example",
        currencyCode="USD",
    )
    _insert(
        db,
        "generalLedgerSetup",
        "generalLedgerSetup",
        "GLSETUP",
        allowPostingFrom="0001-01-01",
        allowPostingTo="0001-01-01",
        localCurrencyCode="USD",
        localCurrencySymbol="$",
    )
    currencies = {}
    for code, name, symbol in (("EUR", "Euro", "€"), ("GBP", "Pound Sterling", "£"), ("CAD", "Canadian Dollar", "")):
        currencies[code] = _insert(
            db,
            "currencies",
            "currency",
            code,
            code=code,
            displayName=name,
            symbol=symbol,
            amountDecimalPlaces="2:2",
            amountRoundingPrecision=0.01,
        )
    for code, date, amount, relational in (
        ("EUR", "2026-01-01", 100.0, 108.5),
        ("EUR", "2026-06-01", 100.0, 110.2),
        ("GBP", "2026-01-01", 100.0, 127.0),
        ("CAD", "2026-01-01", 100.0, 73.1),
    ):
        _insert(
            db,
            "currencyExchangeRates",
            "currencyExchangeRate",
            f"{code}:{date}",
            currencyCode=code,
            startingDate=date,
            exchangeRateAmount=amount,
            relationalCurrencyCode="",
            relationalExchangeRateAmount=relational,
        )
    if "salespeoplePurchasers" in tables:
        for code, name, email in (
            ("JR", "John Roberts", "john.roberts@cronus.example"),
            ("OF", "Otis Falls", "otis.falls@cronus.example"),
            ("PS", "Peter Saddow", "peter.saddow@cronus.example"),
        ):
            _insert(db, "salespeoplePurchasers", "salesperson", code, code=code, displayName=name, email=email)
    terms = {}
    for code, name, due, discount_date, percent in (
        ("14 DAYS", "Net 14 days", "14D", "", 0.0),
        ("30 DAYS", "Net 30 days", "30D", "", 0.0),
        ("1M(8D)", "1 Month/2% 8 days", "1M", "8D", 2.0),
        ("CM", "Current Month", "CM", "", 0.0),
    ):
        terms[code] = _insert(
            db,
            "paymentTerms",
            "paymentTerms",
            code,
            code=code,
            displayName=name,
            dueDateCalculation=due,
            discountDateCalculation=discount_date,
            discountPercent=percent,
        )
    methods = {}
    for code, name in (
        ("CIF", "Cost Insurance Freight"),
        ("EXW", "Ex Warehouse"),
        ("FOB", "Free on Board"),
        ("PICKUP", "Pickup at Location"),
    ):
        methods[code] = _insert(db, "shipmentMethods", "shipmentMethod", code, code=code, displayName=name)
    units = {}
    for code, name, iso in (("PCS", "Piece", "H87"), ("BOX", "Box", "BX"), ("HOUR", "Hour", "HUR")):
        units[code] = _insert(
            db,
            "unitsOfMeasure",
            "unitOfMeasure",
            code,
            code=code,
            displayName=name,
            internationalStandardCode=iso,
            symbol="",
        )
    for number, name, currency, salesperson, term, method, blocked, email in (
        ("C00010", "Adatum Corporation", "", "JR", "30 DAYS", "FOB", "", "info@adatum.example"),
        ("C00020", "Trey Research", "EUR", "OF", "14 DAYS", "EXW", "", ""),
        ("C00030", "School of Fine Art", "GBP", "PS", "1M(8D)", "CIF", "", ""),
        ("C00040", "Alpine Ski House", "", "JR", "CM", "PICKUP", "", ""),
        ("C00050", "Relecloud", "", "", "", "", "All", ""),
        ("C00060", "Coho Winery", "EUR", "", "", "", "Ship", ""),
        ("C00070", "Fabrikam Residences", "CAD", "OF", "30 DAYS", "FOB", "", ""),
        ("C00080", "Contoso Pharmaceuticals", "", "", "30 DAYS", "", "", ""),
    ):
        _insert(
            db,
            "customers",
            "customer",
            number,
            number=number,
            displayName=name,
            type="Company",
            country="US",
            email=email,
            salespersonCode=salesperson,
            currencyCode=currency,
            currencyId=currencies.get(currency, BLANK_GUID),
            paymentTermsId=terms.get(term, BLANK_GUID),
            shipmentMethodId=methods.get(method, BLANK_GUID),
            paymentMethodId=BLANK_GUID,
            taxAreaId=BLANK_GUID,
            blocked=blocked,
        )
    for number, name, currency, blocked in (
        ("10000", "Fabrikam, Inc.", "", ""),
        ("20000", "First Up Consultants", "EUR", ""),
        ("30000", "Graphic Design Institute", "", "All"),
    ):
        _insert(
            db,
            "vendors",
            "vendor",
            number,
            number=number,
            displayName=name,
            country="US",
            currencyCode=currency,
            currencyId=currencies.get(currency, BLANK_GUID),
            paymentTermsId=BLANK_GUID,
            paymentMethodId=BLANK_GUID,
            blocked=blocked,
        )
    companies = {
        "CT000010": ("Adatum Corporation", "Customer", "C00010"),
        "CT000020": ("Trey Research", "Customer", "C00020"),
        "CT000030": ("School of Fine Art", "Customer", "C00030"),
        "CT000040": ("Fabrikam, Inc.", "Vendor", "10000"),
        "CT000090": ("Prospect Ltd", "", ""),
    }
    for number, (name, link, related) in companies.items():
        _insert(
            db,
            "contacts",
            "contact",
            number,
            number=number,
            type="Company",
            displayName=name,
            companyNumber=number,
            companyName=name,
            contactBusinessRelation=link or "None",
            searchName=name.upper(),
        )
        if link:
            code = "CUST" if link == "Customer" else "VEND"
            db.execute('INSERT INTO "contactBusinessRelations" VALUES (?, ?, ?, ?)', (number, code, link, related))
    for number, name, company, email in (
        ("CT000011", "Robert Townes", "CT000010", "robert.townes@adatum.example"),
        ("CT000012", "Stan Sharp", "CT000010", ""),
        ("CT000021", "Monica Thompson", "CT000020", "monica.thompson@treyresearch.example"),
        ("CT000041", "Judy Lew", "CT000040", ""),
        ("CT000091", "Pat Coleman", "CT000090", ""),
    ):
        company_name, link, _ = companies[company]
        _insert(
            db,
            "contacts",
            "contact",
            number,
            number=number,
            type="Person",
            displayName=name,
            companyNumber=company,
            companyName=company_name,
            contactBusinessRelation=link or "None",
            email=email,
            searchName=name.upper(),
        )
    for number, name, unit, price, cost, inventory, item_blocked in (
        ("1896-S", "ATHENS Desk", "PCS", 1000.8, 780.7, -5.0, 0),
        ("1900-S", "PARIS Guest Chair, black", "PCS", 192.8, 150.3, 12.0, 0),
        ("1906-S", "ATHENS Mobile Pedestal", "PCS", 281.4, 219.4, 7.0, 1),
        ("70000", "Side Panel", "BOX", 45.0, 31.0, 120.0, 0),
    ):
        _insert(
            db,
            "items",
            "item",
            number,
            number=number,
            displayName=name,
            type="Inventory",
            unitPrice=price,
            unitCost=cost,
            inventory=inventory,
            blocked=item_blocked,
            baseUnitOfMeasureCode=unit,
            baseUnitOfMeasureId=units[unit],
            itemCategoryId=BLANK_GUID,
            taxGroupId=BLANK_GUID,
            generalProductPostingGroupId=BLANK_GUID,
            inventoryPostingGroupId=BLANK_GUID,
        )

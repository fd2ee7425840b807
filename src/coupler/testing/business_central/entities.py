"""The API v2.0 entity types the seeded tenant serves, as SQLite tables: the fields of each APIV2 page (BCApps
``src/Apps/W1/APIV2/app/src/pages/``, microsoft/ALAppExtensions ``Apps/W1/APIV2/app/src/pages/`` for
``generalLedgerSetup`` and ``currencyExchangeRates``; docs/research/bc-sales-sources.md, table 1.9), their Edm
types, enums and which pages are read-only. ``create_tables`` writes the DDL; ``entity_tables`` the server's config."""

from __future__ import annotations

import sqlite3

from coupler.testing.odata.tables import BcTable

__all__ = [
    "BLANK_GUID",
    "CONTACT_BUSINESS_RELATION",
    "CONTACT_TYPE",
    "CUSTOMER_BLOCKED",
    "ITEM_TYPE",
    "VENDOR_BLOCKED",
    "create_tables",
    "entity_tables",
]

CUSTOMER_BLOCKED = (" ", "Ship", "Invoice", "All")
"""Enum "Customer Blocked" (BCApps ``src/Layers/W1/BaseApp/Sales/Customer/CustomerBlocked.Enum.al``)."""
VENDOR_BLOCKED = (" ", "Payment", "All")
"""Enum "Vendor Blocked" (BCApps, Base Application; research doc "Point 1")."""
CONTACT_TYPE = ("Company", "Person")
CONTACT_BUSINESS_RELATION = (" ", "Customer", "Vendor", "Bank Account", "Employee", "None", "Other", "Multiple")
"""Enum "Contact Business Relation" (research doc "Point 1"); ``contacts.contactBusinessRelation`` (APIV2Contacts)."""
ITEM_TYPE = ("Inventory", "Service", "Non-Inventory")
_SCHEMA: dict[str, tuple[str, dict[str, str]]] = {
    # entity set: (entity type, {column: SQL type}); ``G`` marks a GUID, ``B`` a boolean, ``D`` a date
    "companyInformation": (
        "companyInformation",
        {
            "displayName": "VARCHAR(100)",
            "addressLine1": "VARCHAR(100)",
            "city": "VARCHAR(30)",
            "country": "VARCHAR(10)",
            "postalCode": "VARCHAR(20)",
            "phoneNumber": "VARCHAR(30)",
            "email": "VARCHAR(80)",
            "currencyCode": "VARCHAR(10)",
        },
    ),
    "generalLedgerSetup": (
        "generalLedgerSetup",
        {
            "allowPostingFrom": "VARCHAR(10) D",
            "allowPostingTo": "VARCHAR(10) D",
            "additionalReportingCurrency": "VARCHAR(10)",
            "localCurrencyCode": "VARCHAR(10)",
            "localCurrencySymbol": "VARCHAR(10)",
        },
    ),
    "currencies": (
        "currency",
        {
            "code": "VARCHAR(10) NOT NULL UNIQUE",
            "displayName": "VARCHAR(30)",
            "symbol": "VARCHAR(10)",
            "amountDecimalPlaces": "VARCHAR(5)",
            "amountRoundingPrecision": "REAL",
        },
    ),
    "currencyExchangeRates": (
        "currencyExchangeRate",
        {
            "currencyCode": "VARCHAR(10)",
            "startingDate": "VARCHAR(10) D",
            "exchangeRateAmount": "REAL",
            "relationalCurrencyCode": "VARCHAR(10)",
            "relationalExchangeRateAmount": "REAL",
        },
    ),
    "salespeoplePurchasers": (
        "salespersonPurchaser",
        {
            "code": "VARCHAR(20) NOT NULL UNIQUE",
            "displayName": "VARCHAR(50)",
            "email": "VARCHAR(80)",
            "email2": "VARCHAR(80)",
            "phoneNo": "VARCHAR(30)",
            "jobTitle": "VARCHAR(30)",
            "commisionPercent": "REAL",
            "privacyBlocked": "INTEGER B",
            "blocked": "INTEGER B",
        },
    ),
    "paymentTerms": (
        "paymentTerm",
        {
            "code": "VARCHAR(10) NOT NULL UNIQUE",
            "displayName": "VARCHAR(100)",
            "dueDateCalculation": "VARCHAR(32)",
            "discountDateCalculation": "VARCHAR(32)",
            "discountPercent": "REAL",
            "calculateDiscountOnCreditMemos": "INTEGER B",
        },
    ),
    "shipmentMethods": (
        "shipmentMethod",
        {"code": "VARCHAR(10) NOT NULL UNIQUE", "displayName": "VARCHAR(100)"},
    ),
    "unitsOfMeasure": (
        "unitOfMeasure",
        {
            "code": "VARCHAR(10) NOT NULL UNIQUE",
            "displayName": "VARCHAR(50)",
            "internationalStandardCode": "VARCHAR(10)",
            "symbol": "VARCHAR(10)",
        },
    ),
    "customers": (
        "customer",
        {
            "number": "VARCHAR(20) UNIQUE",
            "displayName": "VARCHAR(100)",
            "type": "VARCHAR(10)",
            "addressLine1": "VARCHAR(100)",
            "addressLine2": "VARCHAR(50)",
            "city": "VARCHAR(30)",
            "state": "VARCHAR(30)",
            "country": "VARCHAR(10)",
            "postalCode": "VARCHAR(20)",
            "phoneNumber": "VARCHAR(30)",
            "email": "VARCHAR(80)",
            "website": "VARCHAR(80)",
            "salespersonCode": "VARCHAR(20)",
            "balanceDue": "REAL",
            "creditLimit": "REAL",
            "taxLiable": "INTEGER B",
            "taxAreaId": "VARCHAR(36) G",
            "taxAreaDisplayName": "VARCHAR(100)",
            "taxRegistrationNumber": "VARCHAR(20)",
            "currencyId": "VARCHAR(36) G",
            "currencyCode": "VARCHAR(10)",
            "paymentTermsId": "VARCHAR(36) G",
            "shipmentMethodId": "VARCHAR(36) G",
            "paymentMethodId": "VARCHAR(36) G",
            "blocked": "VARCHAR(10)",
        },
    ),
    "vendors": (
        "vendor",
        {
            "number": "VARCHAR(20) UNIQUE",
            "displayName": "VARCHAR(100)",
            "addressLine1": "VARCHAR(100)",
            "addressLine2": "VARCHAR(50)",
            "city": "VARCHAR(30)",
            "state": "VARCHAR(30)",
            "country": "VARCHAR(10)",
            "postalCode": "VARCHAR(20)",
            "phoneNumber": "VARCHAR(30)",
            "email": "VARCHAR(80)",
            "website": "VARCHAR(80)",
            "taxRegistrationNumber": "VARCHAR(20)",
            "currencyId": "VARCHAR(36) G",
            "currencyCode": "VARCHAR(10)",
            "irs1099Code": "VARCHAR(10)",
            "paymentTermsId": "VARCHAR(36) G",
            "paymentMethodId": "VARCHAR(36) G",
            "taxLiable": "INTEGER B",
            "blocked": "VARCHAR(10)",
            "balance": "REAL",
        },
    ),
    "contacts": (
        "contact",
        {
            "number": "VARCHAR(20) UNIQUE",
            "type": "VARCHAR(10)",
            "displayName": "VARCHAR(100)",
            "companyNumber": "VARCHAR(20)",
            "companyName": "VARCHAR(100)",
            "contactBusinessRelation": "VARCHAR(20)",
            "jobTitle": "VARCHAR(30)",
            "addressLine1": "VARCHAR(100)",
            "addressLine2": "VARCHAR(50)",
            "city": "VARCHAR(30)",
            "state": "VARCHAR(30)",
            "country": "VARCHAR(10)",
            "postalCode": "VARCHAR(20)",
            "phoneNumber": "VARCHAR(30)",
            "mobilePhoneNumber": "VARCHAR(30)",
            "email": "VARCHAR(80)",
            "website": "VARCHAR(80)",
            "searchName": "VARCHAR(100)",
            "privacyBlocked": "INTEGER B",
            "taxRegistrationNumber": "VARCHAR(20)",
        },
    ),
    "items": (
        "item",
        {
            "number": "VARCHAR(20) UNIQUE",
            "displayName": "VARCHAR(100)",
            "displayName2": "VARCHAR(50)",
            "type": "VARCHAR(20)",
            "itemCategoryId": "VARCHAR(36) G",
            "itemCategoryCode": "VARCHAR(20)",
            "blocked": "INTEGER B",
            "gtin": "VARCHAR(14)",
            "inventory": "REAL",
            "unitPrice": "REAL",
            "priceIncludesTax": "INTEGER B",
            "unitCost": "REAL",
            "taxGroupId": "VARCHAR(36) G",
            "taxGroupCode": "VARCHAR(20)",
            "baseUnitOfMeasureId": "VARCHAR(36) G",
            "baseUnitOfMeasureCode": "VARCHAR(10)",
            "generalProductPostingGroupId": "VARCHAR(36) G",
            "generalProductPostingGroupCode": "VARCHAR(20)",
            "inventoryPostingGroupId": "VARCHAR(36) G",
            "inventoryPostingGroupCode": "VARCHAR(20)",
        },
    ),
}

_ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {"blocked": CUSTOMER_BLOCKED, "type": CONTACT_TYPE},
    "vendors": {"blocked": VENDOR_BLOCKED},
    "contacts": {"type": CONTACT_TYPE, "contactBusinessRelation": CONTACT_BUSINESS_RELATION},
    "items": {"type": ITEM_TYPE},
}
_READ_ONLY = frozenset({"companyInformation", "generalLedgerSetup", "currencyExchangeRates"})
"""``InsertAllowed/ModifyAllowed/DeleteAllowed = false`` on APIV2CurrencyExchangeRates and APIV2GLSetup
(microsoft/ALAppExtensions ``Apps/W1/APIV2/app/src/pages/``); company information is edited in BC only (coupler never
writes it, so the strict server refuses it too)."""
BLANK_GUID = "00000000-0000-0000-0000-000000000000"


def _table_config(name: str) -> BcTable:
    entity_type, columns = _SCHEMA[name]
    edm: dict[str, str] = {}
    booleans = set()
    for column, sql in columns.items():
        marks = sql.split()
        if "G" in marks:
            edm[column] = "Edm.Guid"
        elif "B" in marks:
            booleans.add(column)
        elif "D" in marks:
            edm[column] = "Edm.Date"
        elif marks[0] == "REAL":
            edm[column] = "Edm.Decimal"
    return BcTable(
        table=name,
        entity_type=entity_type,
        booleans=frozenset(booleans),
        edm_types=edm,
        enums=_ENUMS.get(name, {}),
        read_only=name in _READ_ONLY,
    )


def entity_tables(*, version: int = 26) -> dict[str, BcTable]:
    """The tenant's entity sets; before 26 there is no ``salespeoplePurchasers``."""
    return {name: _table_config(name) for name in _SCHEMA if version >= 26 or name != "salespeoplePurchasers"}


def create_tables(db: sqlite3.Connection, names: set[str] | frozenset[str]) -> None:
    """The tables of the entity sets ``names`` (blank texts default to '', numbers to 0, as AL fields do) and the
    Contact Business Relation table (Contact No., Business Relation Code, Link to Table, No.), which API v2.0 has
    no entity set for."""
    for name, (_, columns) in _SCHEMA.items():
        if name not in names:
            continue
        defs = ['"id" VARCHAR(36) PRIMARY KEY NOT NULL']
        for column, sql in columns.items():
            kept = " ".join(m for m in sql.split() if m not in ("G", "B", "D"))
            default = " DEFAULT ''" if kept.startswith("VARCHAR") and "NOT NULL" not in kept else ""
            if kept.startswith("REAL") or kept.startswith("INTEGER"):
                default = " DEFAULT 0"
            defs.append(f'"{column}" {kept}{default}')
        defs.append('"lastModifiedDateTime" TEXT NOT NULL')
        db.execute(f'CREATE TABLE "{name}" ({", ".join(defs)})')
    db.execute(
        'CREATE TABLE "contactBusinessRelations" ("contactNumber" VARCHAR(20) NOT NULL, '
        '"businessRelationCode" VARCHAR(10) NOT NULL, "linkToTable" VARCHAR(20) NOT NULL, '
        '"number" VARCHAR(20) NOT NULL, PRIMARY KEY ("contactNumber", "businessRelationCode"))'
    )

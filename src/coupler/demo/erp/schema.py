"""The demo ERP: tables and fields named like the Business Central API v2.0 entities.

Field lengths follow Business Central's table fields (Name Text[100], City Text[30], Phone No. Text[30] ...), so a
value that is too long for the ERP is rejected as Business Central would reject it. Number-series columns
(customer, contact and item numbers) and salesperson codes are filled by the insert trigger when left out, so a
row created from the CRM side needs none of them.
"""

from __future__ import annotations

from sqlalchemy import REAL, CheckConstraint, Column, Computed, Index, Integer, MetaData, Table, Text, text

from coupler.demo.ddl import (
    add_length_checks,
    email_check,
    key_column,
    modified_on_column,
    modified_on_index,
    number_series,
    one_of,
    search_indexes,
    text_column,
)

__all__ = ["BLOCKED_VALUES", "ITEM_TYPES", "MODIFIED_ON", "erp_metadata"]

MODIFIED_ON = "lastModifiedDateTime"
BLOCKED_VALUES = ("", "Ship", "Invoice", "All")
ITEM_TYPES = ("Inventory", "Service", "Non-Inventory")

_CONTACT_NAME = (
    'CASE WHEN "type" = \'Company\' THEN "companyName" ELSE nullif(trim(replace('
    "coalesce(\"firstName\", '') || ' ' || coalesce(\"middleName\", '') || ' ' || coalesce(\"surname\", ''), "
    "'  ', ' ')), '') END"
)
"""A contact's name as Business Central composes it from the name parts (a company contact: its company name)."""

_NAME = 'trim(NEW."displayName")'
_INITIALS = (
    f"upper(substr(coalesce({_NAME}, 'SP'), 1, 1) || "
    f"CASE WHEN instr({_NAME}, ' ') > 0 THEN substr({_NAME}, instr({_NAME}, ' ') + 1, 1) ELSE '' END)"
)
_SALESPERSON_CODE = (
    f'(SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM "salespeoplePurchasers" AS s WHERE s."code" = i.c) '
    f"THEN i.c ELSE i.c || NEW.rowid END FROM (SELECT {_INITIALS} AS c) AS i)"
)
"""A new salesperson's code: the initials of the name, with the row number added when they are taken."""


def _info(**extra: object) -> dict[str, object]:
    return {"key": "id", "modified_on": MODIFIED_ON, **extra}


def erp_metadata() -> MetaData:
    """The ERP's tables (a new MetaData on every call)."""
    metadata = MetaData()
    customers = Table(
        "customers",
        metadata,
        key_column("id"),
        text_column("number", 20, unique=True),
        text_column("displayName", 100),
        text_column("addressLine1", 100),
        text_column("addressLine2", 50),
        text_column("city", 30),
        text_column("state", 30),
        text_column("country", 10),
        text_column("postalCode", 20),
        text_column("phoneNumber", 30),
        text_column("email", 80),
        text_column("website", 80),
        text_column("salespersonCode", 20),
        text_column("currencyCode", 10),
        text_column("paymentTermsCode", 10),
        Column("creditLimit", REAL, nullable=False, server_default=text("0")),
        Column("blocked", Text, nullable=False, server_default=text("''")),
        modified_on_column(MODIFIED_ON),
        email_check("customers", "email"),
        CheckConstraint('"creditLimit" >= 0', name="ck_customers_creditLimit_positive"),
        one_of("customers", "blocked", BLOCKED_VALUES),
        modified_on_index("customers", MODIFIED_ON, "id"),
        # Business Central's keys on No. and Name: the records list sorts by either in one ordered keyset read
        Index("ix_customers_number_id", "number", "id"),
        Index("ix_customers_displayName_id", "displayName", "id"),
        sqlite_strict=True,
    )
    search_indexes(customers, "number", "displayName")
    customers.info.update(_info(fill_on_insert={"number": number_series(customers, "number", "C", 5, 10)}))

    contacts = Table(
        "contacts",
        metadata,
        key_column("id"),
        text_column("number", 20, unique=True),
        Column("type", Text, nullable=False, server_default=text("'Person'")),
        Column("displayName", Text, Computed(_CONTACT_NAME, persisted=False)),
        text_column("firstName", 30),
        text_column("middleName", 30),
        text_column("surname", 30),
        text_column("jobTitle", 30),
        text_column("companyNumber", 20),
        text_column("companyName", 100),
        text_column("addressLine1", 100),
        text_column("city", 30),
        text_column("postalCode", 20),
        text_column("country", 10),
        text_column("phoneNumber", 30),
        text_column("mobilePhoneNumber", 30),
        text_column("email", 80),
        modified_on_column(MODIFIED_ON),
        email_check("contacts", "email"),
        one_of("contacts", "type", ("Person", "Company")),
        modified_on_index("contacts", MODIFIED_ON, "id"),
        sqlite_strict=True,
    )
    contacts.info.update(_info(fill_on_insert={"number": number_series(contacts, "number", "CT", 6, 1)}))

    Table(
        "salespeoplePurchasers",
        metadata,
        key_column("id"),
        text_column("code", 20, unique=True),
        text_column("displayName", 50),
        text_column("email", 80),
        text_column("phoneNo", 30),
        text_column("jobTitle", 30),
        modified_on_column(MODIFIED_ON),
        email_check("salespeoplePurchasers", "email"),
        modified_on_index("salespeoplePurchasers", MODIFIED_ON, "id"),
        info=_info(fill_on_insert={"code": _SALESPERSON_CODE}),
        sqlite_strict=True,
    )

    Table(
        "currencies",
        metadata,
        key_column("id"),
        text_column("code", 10, nullable=False, unique=True),
        text_column("displayName", 30),
        text_column("symbol", 10),
        modified_on_column(MODIFIED_ON),
        CheckConstraint('length(trim("code")) > 0', name="ck_currencies_code_required"),
        modified_on_index("currencies", MODIFIED_ON, "id"),
        info=_info(),
        sqlite_strict=True,
    )

    items = Table(
        "items",
        metadata,
        key_column("id"),
        text_column("number", 20, unique=True),
        text_column("displayName", 100),
        Column("type", Text, nullable=False, server_default=text("'Inventory'")),
        Column("unitPrice", REAL, server_default=text("0")),
        Column("unitCost", REAL, nullable=False, server_default=text("0")),
        Column("inventory", REAL, nullable=False, server_default=text("0")),
        text_column("baseUnitOfMeasureCode", 10, nullable=False, server_default=text("'PCS'")),
        Column("blocked", Integer, nullable=False, server_default=text("0")),
        modified_on_column(MODIFIED_ON),
        one_of("items", "type", ITEM_TYPES),
        one_of("items", "blocked", (0, 1)),
        CheckConstraint('"unitPrice" IS NULL OR "unitPrice" >= 0', name="ck_items_unitPrice_positive"),
        CheckConstraint('"unitCost" >= 0', name="ck_items_unitCost_positive"),
        modified_on_index("items", MODIFIED_ON, "id"),
        sqlite_strict=True,
    )
    items.info.update(_info(fill_on_insert={"number": number_series(items, "number", "I", 5, 10)}))

    for table in metadata.tables.values():
        add_length_checks(table)
    return metadata

"""The demo CRM: tables and columns named like Dataverse (Dynamics 365 Sales) logical names.

It enforces what Dataverse enforces, so a record can be rejected: required columns (account name, contact last
name, product number ...), maximum lengths (account name 160, telephone 50 ...), e-mail format, choice values.
Columns that coupler does not map but that must not be NULL (statuscode, exchangerate, quantitydecimal ...) have
defaults, as Dataverse fills them on create.
"""

from __future__ import annotations

from sqlalchemy import REAL, CheckConstraint, Column, Computed, Integer, MetaData, Table, Text, text

from coupler.demo import catalog
from coupler.demo.ddl import (
    add_length_checks,
    email_check,
    key_column,
    modified_on_column,
    modified_on_index,
    non_empty,
    one_of,
    search_indexes,
    text_column,
)

__all__ = ["CUSTOMER_TYPE_CUSTOMER", "MODIFIED_ON", "PAYMENT_TERMS_OPTIONS", "crm_metadata"]

MODIFIED_ON = "modifiedon"
CUSTOMER_TYPE_CUSTOMER = 3
"""account.customertypecode: 1 Competitor, 2 Consultant, 3 Customer ... 8 Prospect ... 11 Vendor, 12 Other."""
PAYMENT_TERMS_OPTIONS = tuple(value for _, value in catalog.PAYMENT_TERMS)
"""account.paymenttermscode: the option set's values (Business Central's option mapping adds one per payment
terms code it synchronizes)."""

_FULLNAME = "nullif(trim(coalesce(\"firstname\", '') || ' ' || coalesce(\"lastname\", '')), '')"


def _info(key: str) -> dict[str, object]:
    return {"key": key, "modified_on": MODIFIED_ON}


def _flag(name: str, default: int) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default=text(str(default)))


def _flag_check(table: str, *names: str) -> list[CheckConstraint]:
    return [one_of(table, name, (0, 1)) for name in names]


def crm_metadata() -> MetaData:
    """The CRM's tables (a new MetaData on every call)."""
    metadata = MetaData()
    account = Table(
        "account",
        metadata,
        key_column("accountid"),
        text_column("name", 160, nullable=False),
        text_column("accountnumber", 20),
        text_column("address1_line1", 250),
        text_column("address1_line2", 250),
        text_column("address1_city", 80),
        text_column("address1_stateorprovince", 50),
        text_column("address1_country", 80),
        text_column("address1_postalcode", 20),
        text_column("telephone1", 50),
        text_column("emailaddress1", 100),
        text_column("websiteurl", 200),
        Column("creditlimit", REAL),
        _flag("statecode", 0),
        Column("statuscode", Integer, nullable=False, server_default=text("1")),
        Column("customertypecode", Integer),
        Column("paymenttermscode", Integer),
        Column("ownerid", Text),
        Column("transactioncurrencyid", Text),
        modified_on_column(MODIFIED_ON),
        non_empty("account", "name", 160),
        email_check("account", "emailaddress1"),
        CheckConstraint(
            '"creditlimit" IS NULL OR "creditlimit" BETWEEN 0 AND 1000000000000', name="ck_account_creditlimit_range"
        ),
        *_flag_check("account", "statecode"),
        one_of("account", "statuscode", (1, 2)),
        one_of("account", "customertypecode", tuple(range(1, 13)), nullable=True),
        one_of("account", "paymenttermscode", PAYMENT_TERMS_OPTIONS, nullable=True),
        modified_on_index("account", MODIFIED_ON, "accountid"),
        info=_info("accountid"),
        sqlite_strict=True,
    )
    search_indexes(account, "name", "accountnumber")
    Table(
        "contact",
        metadata,
        key_column("contactid"),
        text_column("firstname", 50),
        text_column("middlename", 50),
        text_column("lastname", 50, nullable=False),
        Column("fullname", Text, Computed(_FULLNAME, persisted=False)),
        text_column("jobtitle", 100),
        Column("parentcustomerid", Text),
        text_column("address1_line1", 250),
        text_column("address1_city", 80),
        text_column("address1_postalcode", 20),
        text_column("address1_country", 80),
        text_column("telephone1", 50),
        text_column("mobilephone", 50),
        text_column("emailaddress1", 100),
        _flag("statecode", 0),
        modified_on_column(MODIFIED_ON),
        non_empty("contact", "lastname", 50),
        email_check("contact", "emailaddress1"),
        *_flag_check("contact", "statecode"),
        modified_on_index("contact", MODIFIED_ON, "contactid"),
        info=_info("contactid"),
        sqlite_strict=True,
    )
    Table(
        "systemuser",
        metadata,
        key_column("systemuserid"),
        text_column("fullname", 200, nullable=False),
        text_column("internalemailaddress", 100),
        text_column("mobilephone", 64),
        _flag("isdisabled", 0),
        _flag("islicensed", 1),
        _flag("isintegrationuser", 0),
        modified_on_column(MODIFIED_ON),
        non_empty("systemuser", "fullname", 200),
        email_check("systemuser", "internalemailaddress"),
        *_flag_check("systemuser", "isdisabled", "islicensed", "isintegrationuser"),
        modified_on_index("systemuser", MODIFIED_ON, "systemuserid"),
        info=_info("systemuserid"),
        sqlite_strict=True,
    )
    Table(
        "transactioncurrency",
        metadata,
        key_column("transactioncurrencyid"),
        text_column("isocurrencycode", 5, nullable=False, unique=True),
        text_column("currencysymbol", 10, nullable=False),
        text_column("currencyname", 100, nullable=False),
        Column("exchangerate", REAL, nullable=False, server_default=text("1.0")),
        Column("currencyprecision", Integer, nullable=False, server_default=text("2")),
        _flag("statecode", 0),
        modified_on_column(MODIFIED_ON),
        non_empty("transactioncurrency", "isocurrencycode", 5),
        non_empty("transactioncurrency", "currencyname", 100),
        CheckConstraint('"exchangerate" > 0', name="ck_transactioncurrency_exchangerate_positive"),
        one_of("transactioncurrency", "currencyprecision", (0, 1, 2, 3, 4)),
        *_flag_check("transactioncurrency", "statecode"),
        modified_on_index("transactioncurrency", MODIFIED_ON, "transactioncurrencyid"),
        info=_info("transactioncurrencyid"),
        sqlite_strict=True,
    )
    Table(
        "product",
        metadata,
        key_column("productid"),
        text_column("productnumber", 100, nullable=False, unique=True),
        text_column("name", 100, nullable=False),
        Column("price", REAL),
        Column("standardcost", REAL),
        Column("quantityonhand", REAL, nullable=False, server_default=text("0")),
        Column("producttypecode", Integer, nullable=False, server_default=text("1")),
        Column("quantitydecimal", Integer, nullable=False, server_default=text("0")),
        Column("statecode", Integer, nullable=False, server_default=text("0")),
        modified_on_column(MODIFIED_ON),
        non_empty("product", "productnumber", 100),
        non_empty("product", "name", 100),
        CheckConstraint('"price" IS NULL OR "price" >= 0', name="ck_product_price_positive"),
        CheckConstraint('"standardcost" IS NULL OR "standardcost" >= 0', name="ck_product_standardcost_positive"),
        one_of("product", "producttypecode", (1, 2, 3, 4)),
        one_of("product", "quantitydecimal", (0, 1, 2, 3, 4, 5)),
        one_of("product", "statecode", (0, 1, 2, 3)),
        modified_on_index("product", MODIFIED_ON, "productid"),
        info=_info("productid"),
        sqlite_strict=True,
    )
    for table in metadata.tables.values():
        add_length_checks(table)
    return metadata

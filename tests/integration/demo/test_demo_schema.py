"""The demo schemas: tables, columns, keys, indexes and the constraints that make a record fail."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from coupler.demo import DemoResult

from .support import GUID, ISO_MS, columns, connect, one

ERP_COLUMNS = {
    "customers": (
        "id number displayName addressLine1 addressLine2 city state country postalCode phoneNumber email website "
        "salespersonCode currencyCode paymentTermsCode creditLimit blocked lastModifiedDateTime"
    ),
    "contacts": (
        "id number type displayName firstName middleName surname jobTitle companyNumber companyName addressLine1 "
        "city postalCode country phoneNumber mobilePhoneNumber email lastModifiedDateTime"
    ),
    "salespeoplePurchasers": "id code displayName email phoneNo jobTitle lastModifiedDateTime",
    "currencies": "id code displayName symbol lastModifiedDateTime",
    "items": (
        "id number displayName type unitPrice unitCost inventory baseUnitOfMeasureCode blocked lastModifiedDateTime"
    ),
}
CRM_COLUMNS = {
    "account": (
        "accountid name accountnumber address1_line1 address1_line2 address1_city address1_stateorprovince "
        "address1_country address1_postalcode telephone1 emailaddress1 websiteurl creditlimit statecode "
        "customertypecode paymenttermscode ownerid transactioncurrencyid modifiedon"
    ),
    "contact": (
        "contactid firstname middlename lastname fullname jobtitle parentcustomerid address1_line1 address1_city "
        "address1_postalcode address1_country telephone1 mobilephone emailaddress1 statecode modifiedon"
    ),
    "systemuser": (
        "systemuserid fullname internalemailaddress mobilephone isdisabled islicensed isintegrationuser modifiedon"
    ),
    "transactioncurrency": "transactioncurrencyid isocurrencycode currencysymbol currencyname modifiedon",
    "product": ("productid productnumber name price standardcost quantityonhand producttypecode statecode modifiedon"),
}
KEYS = {
    "customers": ("id", "number"),
    "contacts": ("id", "number"),
    "salespeoplePurchasers": ("id", "code"),
    "currencies": ("id", "code"),
    "items": ("id", "number"),
    "account": ("accountid", None),
    "contact": ("contactid", None),
    "systemuser": ("systemuserid", None),
    "transactioncurrency": ("transactioncurrencyid", "isocurrencycode"),
    "product": ("productid", "productnumber"),
}


def _database(demo: DemoResult, table: str) -> tuple[Path, str]:
    if table in ERP_COLUMNS:
        return demo.erp, "lastModifiedDateTime"
    return demo.crm, "modifiedon"


def test_tables_and_columns(shared_demo: DemoResult) -> None:
    for path, expected in ((shared_demo.erp, ERP_COLUMNS), (shared_demo.crm, CRM_COLUMNS)):
        with connect(path) as db:
            tables = {r["name"] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert tables == set(expected)
            for table, names in expected.items():
                assert set(names.split()) <= set(columns(db, table)), table


def test_column_types(shared_demo: DemoResult) -> None:
    with connect(shared_demo.erp) as db:
        types = {r["name"]: r["type"] for r in db.execute('PRAGMA table_xinfo("customers")')}
        assert types["id"] == "TEXT" and types["creditLimit"] == "REAL" and types["blocked"] == "TEXT"
        types = {r["name"]: r["type"] for r in db.execute('PRAGMA table_xinfo("items")')}
        assert types["blocked"] == "INTEGER" and types["unitPrice"] == "REAL"
    with connect(shared_demo.crm) as db:
        types = {r["name"]: r["type"] for r in db.execute('PRAGMA table_xinfo("account")')}
        assert types["statecode"] == "INTEGER" and types["customertypecode"] == "INTEGER"


def test_tables_are_strict(shared_demo: DemoResult) -> None:
    for path in (shared_demo.erp, shared_demo.crm):
        with connect(path) as db:
            listed = db.execute("PRAGMA table_list").fetchall()
            strict = {r["name"]: r["strict"] for r in listed if r["schema"] == "main" and r["type"] == "table"}
            strict = {name: flag for name, flag in strict.items() if not name.startswith("sqlite_")}
            assert strict and all(strict.values()), strict


@pytest.mark.parametrize("table", sorted(KEYS))
def test_keys_unique_display_keys_and_modified_on_index(shared_demo: DemoResult, table: str) -> None:
    path, modified_on = _database(shared_demo, table)
    key, unique = KEYS[table]
    with connect(path) as db:
        info = {r["name"]: r for r in db.execute(f'PRAGMA table_xinfo("{table}")')}
        assert info[key]["pk"] == 1
        indexes = db.execute(f'PRAGMA index_list("{table}")').fetchall()
        indexed = {
            r["name"]: (r["unique"], tuple(c["name"] for c in db.execute(f'PRAGMA index_info("{r["name"]}")')))
            for r in indexes
        }
        assert (0, (modified_on, key)) in indexed.values()
        if unique:
            assert (1, (unique,)) in indexed.values()


# One valid row per table, with only what the table requires.
MINIMAL: dict[str, dict[str, Any]] = {
    "customers": {"displayName": "Tiny Customer"},
    "contacts": {"firstName": "Ann", "surname": "Lee"},
    "salespeoplePurchasers": {"displayName": "Nora Quist"},
    "currencies": {"code": "SEK"},
    "items": {"displayName": "Widget"},
    "account": {"name": "Tiny Account"},
    "contact": {"lastname": "Lee"},
    "systemuser": {"fullname": "Ann Lee"},
    "transactioncurrency": {"isocurrencycode": "SEK", "currencysymbol": "kr", "currencyname": "Swedish krona"},
    "product": {"productnumber": "P-1", "name": "Widget"},
}


def insert(db: sqlite3.Connection, table: str, values: dict[str, Any]) -> sqlite3.Row:
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', tuple(values.values()))
    return one(db, f'SELECT * FROM "{table}" WHERE rowid = ?', cursor.lastrowid)


@pytest.mark.parametrize("table", sorted(MINIMAL))
def test_a_row_with_only_required_values_gets_key_and_defaults(shared_demo: DemoResult, table: str) -> None:
    path, modified_on = _database(shared_demo, table)
    key, unique = KEYS[table]
    with connect(path) as db:
        row = insert(db, table, MINIMAL[table])
        assert re.match(GUID, row[key]) and row[key][14] == "4"
        assert re.match(ISO_MS, row[modified_on])
        if unique:
            assert row[unique]
        db.rollback()


def test_number_series_and_derived_names(demo: DemoResult) -> None:
    with connect(demo.erp) as db:
        assert insert(db, "customers", {"displayName": "New One"})["number"] == "C00410"
        assert insert(db, "customers", {"displayName": "New Two", "number": "X1"})["number"] == "X1"
        top = one(db, "SELECT max(number) AS n FROM contacts")["n"]
        person = insert(db, "contacts", {"firstName": "Ann", "middleName": "B.", "surname": "Lee"})
        assert person["number"] == f"CT{int(top[2:]) + 1:06d}"
        assert person["type"] == "Person" and person["displayName"] == "Ann B. Lee"
        company = insert(db, "contacts", {"type": "Company", "companyName": "Lee & Co"})
        assert company["displayName"] == "Lee & Co"
        assert insert(db, "items", {"displayName": "Widget"})["number"] == "I00010"
        assert insert(db, "salespeoplePurchasers", {"displayName": "Nora Quist"})["code"] == "NQ"
        assert insert(db, "salespeoplePurchasers", {"displayName": "Ned Quill"})["code"].startswith("NQ")
        assert len({r["code"] for r in db.execute('SELECT code FROM "salespeoplePurchasers"')}) == 8
    with connect(demo.crm) as db:
        assert insert(db, "contact", {"firstname": "Ann", "lastname": "Lee"})["fullname"] == "Ann Lee"
        assert insert(db, "contact", {"lastname": "Solo"})["fullname"] == "Solo"


REJECTED = [
    ("account", {"name": None}),
    ("account", {"name": "   "}),
    ("account", {"name": "x" * 161}),
    ("account", {"telephone1": "1" * 51}),
    ("account", {"emailaddress1": "not an address"}),
    ("account", {"emailaddress1": "nobody@nowhere"}),
    ("account", {"customertypecode": 99}),
    ("account", {"paymenttermscode": 7}),  # not a value of the option set
    ("account", {"paymenttermscode": "30 DAYS"}),  # STRICT: an option set holds integers
    ("account", {"statecode": 2}),
    ("account", {"creditlimit": -1.0}),
    ("account", {"statecode": "zero"}),  # STRICT: text in an INTEGER column
    ("contact", {"lastname": None}),
    ("contact", {"lastname": "x" * 51}),
    ("contact", {"telephone1": "1" * 51}),
    ("contact", {"mobilephone": "1" * 51}),
    ("contact", {"emailaddress1": "ann at example.com"}),
    ("systemuser", {"fullname": None}),
    ("systemuser", {"isdisabled": 2}),
    ("transactioncurrency", {"isocurrencycode": "EUR"}),  # already there
    ("transactioncurrency", {"currencysymbol": None}),
    ("product", {"productnumber": None}),
    ("product", {"producttypecode": 9}),
    ("customers", {"displayName": "x" * 101}),
    ("customers", {"blocked": "Yes"}),
    ("customers", {"blocked": None}),
    ("customers", {"email": "info(at)example.com"}),
    ("customers", {"phoneNumber": "1" * 31}),
    ("customers", {"paymentTermsCode": "x" * 11}),
    ("customers", {"number": "C00010"}),  # already there
    ("contacts", {"type": "Robot"}),
    ("contacts", {"surname": "x" * 31}),
    ("items", {"blocked": 2}),
    ("items", {"type": "Gadget"}),
    ("currencies", {"code": None}),
    ("salespeoplePurchasers", {"code": "AH"}),  # already there
]


@pytest.mark.parametrize(("table", "values"), REJECTED, ids=lambda v: str(v)[:40])
def test_constraints_reject_bad_records(shared_demo: DemoResult, table: str, values: dict[str, Any]) -> None:
    path, _ = _database(shared_demo, table)
    with connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        insert(db, table, {**MINIMAL[table], **values})


ACCEPTED = [
    ("account", {"name": "x" * 160, "telephone1": "1" * 50, "emailaddress1": "a@b.co"}),
    ("account", {"emailaddress1": ""}),
    ("account", {"emailaddress1": None, "customertypecode": None}),
    ("account", {"paymenttermscode": 6}),
    ("account", {"paymenttermscode": None}),
    ("contact", {"lastname": "x" * 50, "emailaddress1": "ann.lee@example.com"}),
    ("customers", {"displayName": "x" * 100, "blocked": "All"}),
]


@pytest.mark.parametrize(("table", "values"), ACCEPTED, ids=lambda v: str(v)[:40])
def test_constraints_accept_values_at_the_limits(shared_demo: DemoResult, table: str, values: dict[str, Any]) -> None:
    path, _ = _database(shared_demo, table)
    with connect(path) as db:
        row = insert(db, table, {**MINIMAL[table], **values})
        assert all(row[k] == v for k, v in values.items())
        db.rollback()

"""The believable Dataverse tenant (docs: /work/wt/BRIEF.md, "The believable tenant"): an organization with the
base currency USD, users (enabled, disabled, the application user, SYSTEM), Business Central's ``bcbi_company``,
accounts and contacts of which some match Business Central's customers, the unit group "NAV PCS", products in
Active and Draft state, and the option sets of payment terms and freight terms.

``dataverse_tenant(path)`` writes the SQLite database and returns what ``dataverse_app`` needs::

    tenant = dataverse_tenant(tmp / "dataverse.db")
    app = dataverse_app(tenant.db_url, tables=tenant.tables, app_user_id=tenant.app_user_id)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from coupler.demo.ddl import add_length_checks, key_column, modified_on_column, text_column
from coupler.testing.dataverse import optionsets
from coupler.testing.dataverse.server import DEFAULT_APP_USER_ID
from coupler.testing.odata.tables import DataverseTable

__all__ = ["BC_COMPANY_ID", "DATAVERSE_TABLES", "OPTION_SETS", "DataverseTenant", "dataverse_tenant", "guid"]

BC_COMPANY_ID = "3d5b2137-efeb-4a2e-8c5d-0b7c2a5d1f00"
"""The Business Central company "CRONUS USA, Inc." (its SystemId): ``bcbi_externalid`` of its ``bcbi_company``."""
_STAMP = "2026-01-15T09:00:00.000Z"
_LANGUAGE = 1033


def guid(name: str) -> str:
    """The tenant's fixed id of a record (``guid("account:Adatum Corporation")``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"coupler-tenant-dataverse:{name}"))


_OWNER = {"ownerid": ("systemusers",)}
_COMPANY = {"bcbi_companyid": ("bcbi_companies",)}
# BCApps CRMAccount.Table.al field 202, CRMContact 192, CRMProduct 62: the lookup bcbi_companyid; a custom lookup's
# navigation property is its SchemaName (web-api-navigation-properties; PowerPlatform-DataverseClient-Python #137).
_COMPANY_NAV = {"bcbi_companyid": "bcbi_CompanyId"}
_STATE = {"statecode": "State", "statuscode": "Status"}

DATAVERSE_TABLES: dict[str, DataverseTable] = {
    "organizations": DataverseTable(
        table="organization",
        key="organizationid",
        primary_name="name",
        lookups={"basecurrencyid": ("transactioncurrencies",)},
        booleans=frozenset({"createproductswithoutparentinactivestate"}),
        create_multiple=False,
        change_tracking=False,
    ),
    "transactioncurrencies": DataverseTable(
        table="transactioncurrency",
        key="transactioncurrencyid",
        primary_name="currencyname",
        attribute_types={**_STATE, "exchangerate": "Decimal"},
        create_multiple=False,  # a choice (research doc point 8): the authoritative answer is sdkmessagefilters
    ),
    "systemusers": DataverseTable(
        table="systemuser",
        key="systemuserid",
        primary_name="fullname",
        booleans=frozenset({"isdisabled", "islicensed", "isintegrationuser"}),
        attribute_types={"accessmode": "Picklist"},
        create_multiple=False,
    ),
    "bcbi_companies": DataverseTable(table="bcbi_company", key="bcbi_companyid", primary_name="bcbi_name"),
    "accounts": DataverseTable(
        table="account",
        key="accountid",
        primary_name="name",
        lookups={
            **_OWNER,
            **_COMPANY,
            "transactioncurrencyid": ("transactioncurrencies",),
            "primarycontactid": ("contacts",),
        },
        navigation=_COMPANY_NAV,
        attribute_types={
            **_STATE,
            "creditlimit": "Money",
            "customertypecode": "Picklist",
            "paymenttermscode": "Picklist",
            "address1_freighttermscode": "Picklist",
            "address1_shippingmethodcode": "Picklist",
        },
    ),
    "contacts": DataverseTable(
        table="contact",
        key="contactid",
        primary_name="fullname",
        lookups={
            **_OWNER,
            **_COMPANY,
            "parentcustomerid": ("accounts", "contacts"),
            "transactioncurrencyid": ("transactioncurrencies",),
        },
        navigation=_COMPANY_NAV,
        attribute_types=_STATE,
    ),
    "uomschedules": DataverseTable(
        table="uomschedule", key="uomscheduleid", primary_name="name", attribute_types=_STATE
    ),
    "uoms": DataverseTable(
        table="uom",
        key="uomid",
        primary_name="name",
        lookups={"uomscheduleid": ("uomschedules",), "baseuom": ("uoms",)},
        booleans=frozenset({"isschedulebaseuom"}),
        attribute_types={"quantity": "Decimal"},
    ),
    "products": DataverseTable(
        table="product",
        key="productid",
        primary_name="name",
        lookups={
            **_COMPANY,
            "defaultuomscheduleid": ("uomschedules",),
            "defaultuomid": ("uoms",),
            "transactioncurrencyid": ("transactioncurrencies",),
        },
        navigation=_COMPANY_NAV,
        attribute_types={
            **_STATE,
            "price": "Money",
            "standardcost": "Money",
            "currentcost": "Money",
            "producttypecode": "Picklist",
            "productstructure": "Picklist",
        },
    ),
}
"""The entity sets of the tenant. CreateMultiple: accounts, contacts, products, uomschedules, uoms yes (the Sales
table reference lists it for product and uomschedule); systemusers, transactioncurrencies, organizations no."""

OPTION_SETS: dict[tuple[str, str], tuple[tuple[int, str], ...]] = {
    # BCApps enum "CDS Payment Terms Code" 5334 and bcdocs admin-cds-missing-option-values.md; 100000000 "30 Days"
    # was added by an earlier administrator (BC matches labels case-insensitively: 30 DAYS couples to it).
    ("account", "paymenttermscode"): (
        (1, "Net 30"),
        (2, "2% 10; Net 30"),
        (3, "Net 45"),
        (4, "Net 60"),
        (100000000, "30 Days"),
    ),
    # enum "CDS Shipment Method Code" 5335
    ("account", "address1_freighttermscode"): ((1, "FOB"), (2, "No Charge")),
    # enum "CDS Shipping Agent Code" 5336
    ("account", "address1_shippingmethodcode"): (
        (1, "Airborne"),
        (2, "DHL"),
        (3, "FedEx"),
        (4, "UPS"),
        (5, "Postal Mail"),
        (6, "Full Load"),
        (7, "Will Call"),
    ),
    # learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account, CustomerTypeCode choices
    ("account", "customertypecode"): tuple(
        enumerate(
            (
                "Competitor",
                "Consultant",
                "Customer",
                "Investor",
                "Partner",
                "Influencer",
                "Press",
                "Prospect",
                "Reseller",
                "Supplier",
                "Vendor",
                "Other",
            ),
            start=1,
        )
    ),
    # ce-docs product.md, ProductTypeCode choices
    ("product", "producttypecode"): (
        (1, "Sales Inventory"),
        (2, "Miscellaneous Charges"),
        (3, "Services"),
        (4, "Flat Fees"),
    ),
}


@dataclass(frozen=True, kw_only=True)
class DataverseTenant:
    """What ``dataverse_app`` needs, and the ids a test or the integrator's template names."""

    db_url: str
    tables: dict[str, DataverseTable]
    app_user_id: str
    organization_id: str
    base_currency_id: str
    company_id: str
    """The ``bcbi_companyid`` of "CRONUS USA, Inc."."""


def _text(name: str, length: int) -> sa.Column[Any]:
    return text_column(name, length)


def _number(name: str, kind: Any = sa.Integer) -> sa.Column[Any]:
    return sa.Column(name, kind)


def _lookup(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Text)


def _metadata() -> sa.MetaData:
    """The tables; required columns are nullable here so that the server's rules, not SQLite, refuse them."""
    metadata = sa.MetaData()

    def table(name: str, key: str, *columns: sa.Column[Any]) -> None:
        add_length_checks(sa.Table(name, metadata, key_column(key), *columns, modified_on_column("modifiedon")))

    state = [_number("statecode"), _number("statuscode")]
    table(
        "organization",
        "organizationid",
        _text("name", 160),
        _lookup("basecurrencyid"),
        _number("languagecode"),
        _number("currencydecimalprecision"),
        _number("createproductswithoutparentinactivestate"),
    )
    table(
        "transactioncurrency",
        "transactioncurrencyid",
        _text("isocurrencycode", 5),
        _text("currencyname", 100),
        _text("currencysymbol", 10),
        _number("currencyprecision"),
        _number("exchangerate", sa.REAL),
        *[_number("statecode"), _number("statuscode")],
    )
    table(
        "systemuser",
        "systemuserid",
        _text("fullname", 200),
        _text("internalemailaddress", 100),
        _text("personalemailaddress", 100),
        _text("mobilephone", 64),
        _text("jobtitle", 100),
        _number("isdisabled"),
        _number("islicensed"),
        _number("isintegrationuser"),
        _number("accessmode"),
        sa.Column("applicationid", sa.Text),
    )
    table("bcbi_company", "bcbi_companyid", _text("bcbi_externalid", 100), _text("bcbi_name", 100))
    address = ["line1", "line2", "city", "stateorprovince", "country", "postalcode"]
    lengths = {"line1": 250, "line2": 250, "city": 80, "stateorprovince": 50, "country": 80, "postalcode": 20}
    table(
        "account",
        "accountid",
        _text("name", 160),
        _text("accountnumber", 20),
        *[_text(f"address1_{p}", lengths[p]) for p in address],
        _text("address1_primarycontactname", 100),
        _text("telephone1", 50),
        _text("telephone2", 50),
        _text("fax", 50),
        _text("emailaddress1", 100),
        _text("websiteurl", 200),
        _number("creditlimit", sa.REAL),
        _number("customertypecode"),
        _number("paymenttermscode"),
        _number("address1_freighttermscode"),
        _number("address1_shippingmethodcode"),
        *[_lookup(n) for n in ("ownerid", "transactioncurrencyid", "primarycontactid", "bcbi_companyid")],
        *[_number("statecode"), _number("statuscode")],
    )
    table(
        "contact",
        "contactid",
        _text("firstname", 50),
        _text("middlename", 50),
        _text("lastname", 50),
        sa.Column("fullname", sa.Text, sa.Computed("trim(coalesce(firstname, '') || ' ' || coalesce(lastname, ''))")),
        _text("jobtitle", 100),
        *[_text(f"address1_{p}", lengths[p]) for p in address],
        _text("telephone1", 50),
        _text("mobilephone", 50),
        _text("fax", 50),
        _text("pager", 50),
        _text("emailaddress1", 100),
        _text("websiteurl", 200),
        *[_lookup(n) for n in ("parentcustomerid", "ownerid", "transactioncurrencyid", "bcbi_companyid")],
        _text("parentcustomeridtype", 64),
        *[_number("statecode"), _number("statuscode")],
    )
    table("uomschedule", "uomscheduleid", _text("name", 200), _text("baseuomname", 100), *state)
    table(
        "uom",
        "uomid",
        _text("name", 100),
        _number("quantity", sa.REAL),
        _number("isschedulebaseuom"),
        _lookup("uomscheduleid"),
        _lookup("baseuom"),
    )
    table(
        "product",
        "productid",
        _text("productnumber", 100),
        _text("name", 100),
        _text("description", 2000),
        _text("vendorname", 100),
        _text("vendorpartnumber", 100),
        *[_number(n, sa.REAL) for n in ("price", "standardcost", "currentcost", "quantityonhand")],
        *[_number(n, sa.REAL) for n in ("stockweight", "stockvolume")],
        _number("quantitydecimal"),
        _number("producttypecode"),
        _number("productstructure"),
        *[_lookup(n) for n in ("defaultuomscheduleid", "defaultuomid", "transactioncurrencyid", "bcbi_companyid")],
        *[_number("statecode"), _number("statuscode")],
    )
    return metadata


def _rows() -> dict[str, list[dict[str, Any]]]:
    usd, eur = guid("currency:USD"), guid("currency:EUR")
    john, otis = guid("user:John Roberts"), guid("user:Otis Falls")
    adatum, litware, kim = guid("account:Adatum Corporation"), guid("account:Litware, Inc."), guid("contact:Kim")
    pcs_group, pcs = guid("uomschedule:NAV PCS"), guid("uom:PCS")

    def user(name: str, email: str | None, **flags: Any) -> dict[str, Any]:
        row = {"systemuserid": guid(f"user:{name}"), "fullname": name, "internalemailaddress": email}
        return {"isdisabled": 0, "islicensed": 1, "isintegrationuser": 0, "accessmode": 0, **row, **flags}

    def account(name: str, kind: int, currency: str, owner: str | None, state: int = 0) -> dict[str, Any]:
        return {
            "accountid": guid(f"account:{name}"),
            "name": name,
            "customertypecode": kind,
            "transactioncurrencyid": currency,
            "ownerid": owner,
            "statecode": state,
            "statuscode": 1 if state == 0 else 2,
        }

    def contact(first: str, last: str, parent: str | None, kind: str | None, **extra: Any) -> dict[str, Any]:
        key = kim if first == "Kim" else guid(f"contact:{first} {last}")
        row = {"contactid": key, "firstname": first, "lastname": last, "parentcustomerid": parent}
        return {"parentcustomeridtype": kind, "statecode": 0, "statuscode": 1, "ownerid": john, **row, **extra}

    product = {"producttypecode": 1, "productstructure": 1, "quantitydecimal": 2, "transactioncurrencyid": usd}
    return {
        "transactioncurrency": [
            {
                "transactioncurrencyid": usd,
                "isocurrencycode": "USD",
                "currencyname": "US Dollar",
                "currencysymbol": "$",
                "currencyprecision": 2,
                "exchangerate": 1.0,
                "statecode": 0,
                "statuscode": 1,
            },
            {
                "transactioncurrencyid": eur,
                "isocurrencycode": "EUR",
                "currencyname": "Euro",
                "currencysymbol": "€",
                "currencyprecision": 2,
                "exchangerate": 0.9,
                "statecode": 0,
                "statuscode": 1,
            },
        ],
        "organization": [
            {
                "organizationid": guid("organization"),
                "name": "CRONUS",
                "basecurrencyid": usd,
                "languagecode": _LANGUAGE,
                "currencydecimalprecision": 2,
                "createproductswithoutparentinactivestate": 0,
            }
        ],
        "systemuser": [
            user("John Roberts", "john.roberts@cronus.example"),
            user("Otis Falls", "otis.falls@cronus.example"),
            user("Annette Hill", "annette.hill@cronus.example"),
            user("Ben Smith", "ben.smith@cronus.example", isdisabled=1),
            # the application user coupler signs in as (WhoAmI): applicationid set, not licensed, access mode 4
            # (Non-interactive); SYSTEM is the integration user BC's SALESPEOPLE filter leaves out.
            {**user("# coupler", None, islicensed=0, accessmode=4), "systemuserid": DEFAULT_APP_USER_ID}
            | {"applicationid": "6f1e7c52-8c4b-4b8e-9a53-0c0de0c0de00"},
            user("SYSTEM", None, isintegrationuser=1, islicensed=0, accessmode=1),
        ],
        "bcbi_company": [
            {"bcbi_companyid": guid("bcbi_company:CRONUS USA"), "bcbi_externalid": BC_COMPANY_ID}
            | {"bcbi_name": "CRONUS USA, Inc."}
        ],
        "account": [
            account("Adatum Corporation", 3, usd, john),
            account("Trey Research", 3, eur, otis),
            account("Litware, Inc.", 3, usd, john),
            account("Proseware, Inc.", 11, usd, otis),
            account("Wide World Importers", 3, usd, john, state=1),
        ],
        "contact": [
            contact("Robert", "Townes", adatum, "account", emailaddress1="robert.townes@adatum.example"),
            contact("Kim", "Abercrombie", litware, "account"),
            contact("Nancy", "Davolio", kim, "contact"),
            contact("Old", "Contact", None, None, statecode=1, statuscode=2),
        ],
        "uomschedule": [
            {"uomscheduleid": pcs_group, "name": "NAV PCS", "baseuomname": "PCS", "statecode": 0, "statuscode": 1}
        ],
        "uom": [{"uomid": pcs, "name": "PCS", "quantity": 1.0, "isschedulebaseuom": 1, "uomscheduleid": pcs_group}],
        "product": [
            {
                **product,
                "productid": guid("product:1900-S"),
                "productnumber": "1900-S",
                "name": "PARIS Guest Chair, black",
                "price": 192.8,
                "standardcost": 150.3,
                "currentcost": 150.3,
                "quantityonhand": 12.0,
                "defaultuomscheduleid": pcs_group,
                "defaultuomid": pcs,
                "statecode": 0,
                "statuscode": 1,
            },
            {
                **product,
                "productid": guid("product:DRAFT-1"),
                "productnumber": "DRAFT-1",
                "name": "Draft product",
                "defaultuomscheduleid": pcs_group,
                "defaultuomid": pcs,
                "statecode": 2,
                "statuscode": 0,
            },
        ],
    }


def dataverse_tenant(path: Path) -> DataverseTenant:
    """Write the tenant's database at ``path`` (replacing it) and say how to serve it."""
    path.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}")
    metadata = _metadata()
    with engine.begin() as conn:
        metadata.create_all(conn)
        for name, rows in _rows().items():
            table = metadata.tables[name]
            for row in rows:
                conn.execute(table.insert().values({**row, "modifiedon": _STAMP}))
    optionsets.install(engine)
    with engine.begin() as conn:
        for (entity, attribute), options in OPTION_SETS.items():
            optionsets.seed(conn, entity, attribute, options, _LANGUAGE)
    engine.dispose()
    return DataverseTenant(
        db_url=f"sqlite:///{path}",
        tables=dict(DATAVERSE_TABLES),
        app_user_id=DEFAULT_APP_USER_ID,
        organization_id=guid("organization"),
        base_currency_id=guid("currency:USD"),
        company_id=guid("bcbi_company:CRONUS USA"),
    )

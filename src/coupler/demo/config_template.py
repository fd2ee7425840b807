"""The demo's coupler.toml: table mappings modelled on Business Central's defaults for Dynamics 365 Sales.

The file is built as the configuration models coupler.config validates (``demo_config``) and written by its TOML
writer with the comments below, so it stays readable: one inline table per side and per field. The mappings hold
Business Central's lookups (salesperson -> owner, currency, the contact's company), the payment terms option mapping,
transformations and the fields match-based coupling uses.
"""

from __future__ import annotations

from typing import Any

from coupler.adapters.connectors.kinds.sql import SqlSettings
from coupler.config.files import ConditionModel, FieldModel, FileModel, SideModel, TransformModel
from coupler.config.writer import Comments, commented_mapping, render_config
from coupler.demo import catalog
from coupler.domain.mapping import Direction, Operator

__all__ = ["DEMO_COMMENTS", "demo_config", "render_demo_config"]

_HEADER = """\
coupler configuration for the demo, written by `coupler demo`. Every option is described in
docs/configuration.md.

local is the ERP (erp.db: tables and fields named like the Business Central API v2.0); integration is the CRM
(crm.db: tables and columns named like Dataverse, the platform of Dynamics 365 Sales). Relative paths in URLs
are resolved against the folder of this file. state is where coupler keeps couplings, watermarks and jobs.

Each [[mappings]] entry is a table mapping, named like Business Central's: a table on each side (key, display
key, modified-on column, filter), the direction data flows, what happens when both sides change the same field
(update_conflict) or a coupled record is deleted (deletion_conflict, delete), and field by field what is copied.
Filter operators: eq, ne, lt, le, gt, ge, in, not_in, is_null, not_null, startswith, contains.

A field entry has local and integration (or a constant instead of the source field), an optional direction
within the mapping's, and enabled (default true). Optional: match (the priority group `coupler match` tries,
lowest first), case_sensitive, transform (steps such as trim, upper, replace, map), options (local code ->
integration option value), and lookup (the value names a record of another mapping and is translated through
its couplings; lookup_local_by / lookup_integration_by name the column it refers to, not_null never writes a
null, clear_on_failed_lookup writes null instead of failing when that record is not coupled). A mapping must
depend on the mappings its fields look up.

Nothing is coupled yet: with sync_only_coupled = true, records are only synchronized once they are coupled.
Start with `coupler review`: it says which mappings to match first and which to synchronize in full.
"""


_CAPTIONS = {
    "salespeoplePurchasers": "Salesperson/Purchaser",
    "currencies": "Currency",
    "customers": "Customer",
    "contacts": "Contact",
    "items": "Item",
    "systemuser": "User",
    "transactioncurrency": "Currency",
    "account": "Account",
    "contact": "Contact",
    "product": "Product",
}
"""What Business Central and Sales call a record of each table."""


def _side(
    table: str, key: str, display_key: str, modified_on: str, *conditions: ConditionModel, **extra: Any
) -> SideModel:
    if conditions:
        extra["filter"] = list(conditions)
    return SideModel(
        table=table, caption=_CAPTIONS[table], key=key, display_key=display_key, modified_on=modified_on, **extra
    )


def _eq(field: str, value: Any) -> ConditionModel:
    return ConditionModel(field=field, op=Operator.EQ, value=value)


def _f(caption: str, local: str, integration: str, **extra: Any) -> FieldModel:
    """A field mapping with Business Central's caption of the field."""
    return FieldModel(caption=caption, local=local, integration=integration, **extra)


def _erp(table: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    """An ERP table, its records named by their number or code and their name."""
    return _side(table, "id", display_key, "lastModifiedDateTime", *conditions, name_field="displayName")


def _crm(table: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    return _side(table, f"{table}id", display_key, "modifiedon", *conditions)


_TO_CRM: dict[str, Any] = {"direction": Direction.TO_INTEGRATION}
_FROM_CRM: dict[str, Any] = {"direction": Direction.FROM_INTEGRATION}
_TRIM = [TransformModel(kind="trim")]
_UPPER = TransformModel(kind="upper")
_PAYMENT_TERMS = dict(catalog.PAYMENT_TERMS)

_MAPPINGS = (
    commented_mapping(
        name="SALESPEOPLE",
        comment="Salespeople come from the CRM's users: enabled, licensed people, not integration users.",
        direction=Direction.FROM_INTEGRATION,
        local=_erp("salespeoplePurchasers", "code"),
        integration=_crm(
            "systemuser", "fullname", _eq("isdisabled", 0), _eq("islicensed", 1), _eq("isintegrationuser", 0)
        ),
        fields=(
            "a new salesperson's code is made from the initials of its name; `coupler match` pairs them by e-mail",
            _f("Name", "displayName", "fullname"),
            _f("E-Mail", "email", "internalemailaddress", match=1),
            _f("Phone No.", "phoneNo", "mobilephone"),
        ),
    ),
    commented_mapping(
        name="CURRENCY",
        comment="Currencies are kept in the ERP and sent to the CRM.",
        direction=Direction.TO_INTEGRATION,
        local=_erp("currencies", "code"),
        integration=_crm("transactioncurrency", "isocurrencycode"),
        fields=(
            "the local currency is not in the ERP's table: a blank currency code means the CRM's base currency",
            _f("Code", "code", "isocurrencycode", match=1),
            _f("Symbol", "symbol", "currencysymbol"),
            _f("Description", "displayName", "currencyname"),
        ),
    ),
    commented_mapping(
        name="CUSTOMER",
        comment="Customers that are not blocked <-> active accounts of type Customer.",
        direction=Direction.BIDIRECTIONAL,
        depends_on=("SALESPEOPLE", "CURRENCY"),
        local=_erp("customers", "number", _eq("blocked", "")),
        integration=_crm("account", "name", _eq("statecode", 0), _eq("customertypecode", 3)),
        fields=(
            _f("Name", "displayName", "name", match=1, transform=_TRIM),
            _f("Address", "addressLine1", "address1_line1"),
            _f("Address 2", "addressLine2", "address1_line2"),
            _f("City", "city", "address1_city"),
            _f("County", "state", "address1_stateorprovince"),
            _f("Post Code", "postalCode", "address1_postalcode"),
            _f("Country/Region Code", "country", "address1_country"),
            _f("Phone No.", "phoneNumber", "telephone1"),
            _f("E-Mail", "email", "emailaddress1"),
            _f("Home Page", "website", "websiteurl"),
            _f("Credit Limit (LCY)", "creditLimit", "creditlimit", **_TO_CRM),
            FieldModel(caption="Relationship Type", integration="customertypecode", constant=3, **_TO_CRM),
            _f("No.", "number", "accountnumber", **_TO_CRM, enabled=False),
            "the salesperson's code -> the systemuserid of the user coupled to that salesperson",
            _f(
                "Salesperson Code",
                "salespersonCode",
                "ownerid",
                **_TO_CRM,
                lookup="SALESPEOPLE",
                lookup_local_by="code",
                not_null=True,
            ),
            "the currency, one way at a time: a customer waits (is retried) until its currency is coupled;",
            "an account in a currency that is not coupled (the CRM's base currency) gets a blank code",
            _f("Currency Code", "currencyCode", "transactioncurrencyid", **_TO_CRM, lookup="CURRENCY"),
            _f(
                "Currency Code",
                "currencyCode",
                "transactioncurrencyid",
                **_FROM_CRM,
                lookup="CURRENCY",
                clear_on_failed_lookup=True,
            ),
            "Business Central's option mapping PAYMENT TERMS: code <-> the account's option set value",
            _f(
                "Payment Terms Code",
                "paymentTermsCode",
                "paymenttermscode",
                transform=[*_TRIM, _UPPER],
                options=_PAYMENT_TERMS,
            ),
        ),
    ),
    commented_mapping(
        name="CONTACT",
        comment="Contact persons <-> active contacts.",
        direction=Direction.BIDIRECTIONAL,
        depends_on=("CUSTOMER",),
        local=_erp("contacts", "number", _eq("type", "Person")),
        integration=_crm("contact", "fullname", _eq("statecode", 0)),
        fields=(
            _f("First Name", "firstName", "firstname"),
            _f("Middle Name", "middleName", "middlename"),
            _f("Surname", "surname", "lastname"),
            _f("Job Title", "jobTitle", "jobtitle"),
            _f("Address", "addressLine1", "address1_line1"),
            _f("City", "city", "address1_city"),
            _f("Post Code", "postalCode", "address1_postalcode"),
            _f("Country/Region Code", "country", "address1_country"),
            _f("Phone No.", "phoneNumber", "telephone1"),
            _f("Mobile Phone No.", "mobilePhoneNumber", "mobilephone"),
            _f("E-Mail", "email", "emailaddress1", match=1),
            "the contact's customer number <-> the accountid of the account coupled to that customer",
            _f("Company No.", "companyNumber", "parentcustomerid", lookup="CUSTOMER"),
        ),
    ),
    commented_mapping(
        name="ITEM-PRODUCT",
        comment="Items that are not blocked <-> active products; costs and inventory go to the CRM only.",
        direction=Direction.BIDIRECTIONAL,
        local=_erp("items", "number", _eq("blocked", 0)),
        integration=_crm("product", "productnumber", _eq("statecode", 0)),
        fields=(
            _f("No.", "number", "productnumber", match=1),
            _f("Description", "displayName", "name"),
            _f("Unit Price", "unitPrice", "price"),
            _f("Unit Cost", "unitCost", "standardcost", **_TO_CRM),
            _f("Inventory", "inventory", "quantityonhand", **_TO_CRM),
        ),
    ),
)

DEMO_COMMENTS = Comments.merge(Comments(above={(): _HEADER}), *(comments for _, comments in _MAPPINGS))
"""The demo file's comments: its head, and each mapping's and field's."""


def demo_config(
    *,
    erp_url: str = "sqlite:///erp.db",
    crm_url: str = "sqlite:///crm.db",
    state_url: str = "sqlite:///coupler-state.db",
) -> FileModel:
    """The demo's configuration: the ERP and CRM databases next to the file, and the five mappings."""
    return FileModel(
        state=state_url,
        local=SqlSettings(name="Business Central", url=erp_url),
        integration=SqlSettings(name="Dynamics 365 Sales", url=crm_url),
        mappings=[mapping for mapping, _ in _MAPPINGS],
    )


def render_demo_config() -> str:
    """The demo's coupler.toml."""
    return render_config(demo_config(), DEMO_COMMENTS)

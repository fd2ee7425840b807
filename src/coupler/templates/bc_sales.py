"""The `bc-sales` template: Business Central's default table and field mappings for Dynamics 365 Sales, as data.

Local is a Business Central environment reached through its API v2.0 (entity and field names of that API);
integration is a Dataverse organization reached through its Web API (entity sets and attribute logical names).
Every field Business Central maps by default has an entry, ``BcField``: the field as Business Central names it, the
field model written to the config, or, when the API v2.0 entity has no such field, None and the reason. The file is
built as the configuration models coupler.config validates (``bc_sales_config``) and written by its TOML writer, a
comment line above each field.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.dataverse import DataverseSettings
from coupler.config.files import ConditionModel, FieldModel, FileModel, MappingModel, SideModel, TransformModel
from coupler.config.writer import Comments, commented_mapping, render_config
from coupler.domain.mapping import Direction, Operator

__all__ = ["BC_SALES", "BC_SALES_COMMENTS", "BcField", "BcMapping", "bc_sales_config", "render_bc_sales"]

_SENDS: dict[str, Any] = {"direction": Direction.TO_INTEGRATION}
_GETS: dict[str, Any] = {"direction": Direction.FROM_INTEGRATION}
_FIRST_NAME = r"^\s*(\S+)\s+.*$|^.*$"
_MIDDLE_NAME = r"^\s*\S+\s+(.*?)\s*\S+\s*$|^.*$"
_SURNAME = r"^.*?(\S*)\s*$"
_WIDTH = 112


@dataclass(frozen=True, kw_only=True, slots=True)
class BcField:
    """One of Business Central's default field mappings: ``bc`` names it as Business Central does ("Post Code
    <-> address1_postalcode"); ``entry`` is the config's field, or None with ``note`` saying why not."""

    bc: str
    note: str
    entry: FieldModel | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BcMapping:
    """A table mapping with its fields documented one by one, and the comments that document them in the file."""

    mapping: MappingModel
    comments: Comments
    fields: tuple[BcField, ...]

    @property
    def name(self) -> str:
        return self.mapping.name


def _mapping(*, comment: str, fields: Sequence[BcField], **settings: Any) -> BcMapping:
    entries: list[FieldModel | str] = []
    for field in fields:
        entries.extend(textwrap.wrap(f"{field.bc}: {field.note}", width=_WIDTH, subsequent_indent="  "))
        if field.entry is not None:
            entries.append(field.entry)
    mapping, comments = commented_mapping(comment=comment, fields=entries, **settings)
    return BcMapping(mapping=mapping, comments=comments, fields=tuple(fields))


def _f(local: str, integration: str, **extra: Any) -> FieldModel:
    return FieldModel(local=local, integration=integration, **extra)


def _eq(field: str, value: Any) -> ConditionModel:
    return ConditionModel(field=field, op=Operator.EQ, value=value)


def _side(table: str, key: str, display_key: str, modified_on: str, conditions: Sequence[ConditionModel]) -> SideModel:
    filtered: dict[str, Any] = {"filter": list(conditions)} if conditions else {}
    return SideModel(table=table, key=key, display_key=display_key, modified_on=modified_on, **filtered)


def _bc(entity_set: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    return _side(entity_set, "id", display_key, "lastModifiedDateTime", conditions)


def _dv(entity_set: str, key: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    return _side(entity_set, key, display_key, "modifiedon", conditions)


def _name_part(integration: str, pattern: str, replacement: str) -> FieldModel:
    step = {"kind": "replace", "pattern": pattern, "replacement": replacement, "count": 1}
    return _f("displayName", integration, **_SENDS, transform=[TransformModel.model_validate(step)])


_NOT_IN_CUSTOMER_API = "not mapped, the API v2.0 customer entity has no such field"
_NOT_IN_CONTACT_API = "not mapped, the API v2.0 contact entity has no such field"

SALESPEOPLE = _mapping(
    name="SALESPEOPLE",
    comment="Salespeople come from Sales' users: enabled, licensed people, not integration (application) users.\n"
    "Business Central needs a code for a new salesperson, which coupler does not invent: couple the salespeople\n"
    "Business Central already has with `coupler match SALESPEOPLE` (by e-mail) before synchronizing.",
    direction=Direction.FROM_INTEGRATION,
    local=_bc("salespeoplePurchasers", "code"),
    integration=_dv(
        "systemusers",
        "systemuserid",
        "fullname",
        _eq("isdisabled", False),
        _eq("islicensed", True),
        _eq("isintegrationuser", False),
    ),
    fields=(
        BcField(
            bc="E-Mail <- internalemailaddress",
            note="the user's primary e-mail; `coupler match` pairs salespeople and users by it",
            entry=_f("email", "internalemailaddress", match=1),
        ),
        BcField(bc="Name <- fullname", note="the user's full name", entry=_f("displayName", "fullname")),
        BcField(bc="Phone No. <- mobilephone", note="the user's mobile phone", entry=_f("phoneNo", "mobilephone")),
    ),
)

CURRENCY = _mapping(
    name="CURRENCY",
    comment="Currencies are kept in Business Central and sent to Sales. Business Central's local currency is not in\n"
    "its currencies list: a blank currency code means Sales' base currency.",
    direction=Direction.TO_INTEGRATION,
    local=_bc("currencies", "code"),
    integration=_dv("transactioncurrencies", "transactioncurrencyid", "isocurrencycode"),
    fields=(
        BcField(
            bc="Code -> isocurrencycode",
            note="the ISO code; Business Central couples currencies by it, and so does `coupler match`",
            entry=_f("code", "isocurrencycode", match=1),
        ),
        BcField(bc="Symbol -> currencysymbol", note="the currency's symbol", entry=_f("symbol", "currencysymbol")),
        BcField(bc="Description -> currencyname", note="the currency's name", entry=_f("displayName", "currencyname")),
    ),
)

CUSTOMER = _mapping(
    name="CUSTOMER",
    comment='Customers that are not blocked (blocked is " ") <-> active accounts (statecode 0) of type Customer\n'
    "(customertypecode 3). blocked is an enum: filters and option mappings name its members as Business Central shows\n"
    'them (" ", Ship, Invoice, All); the API sends " " as _x0020_, and coupler translates both ways.',
    direction=Direction.BIDIRECTIONAL,
    depends_on=("SALESPEOPLE", "CURRENCY"),
    local=_bc("customers", "number", _eq("blocked", " ")),
    integration=_dv("accounts", "accountid", "name", _eq("statecode", 0), _eq("customertypecode", 3)),
    fields=(
        BcField(
            bc="Name <-> name",
            note="the company's name; `coupler match` pairs customers and accounts by it",
            entry=_f("displayName", "name", match=1),
        ),
        BcField(bc="Contact <-> address1_primarycontactname", note=_NOT_IN_CUSTOMER_API),
        BcField(bc="Address <-> address1_line1", note="street, line 1", entry=_f("addressLine1", "address1_line1")),
        BcField(bc="Address 2 <-> address1_line2", note="street, line 2", entry=_f("addressLine2", "address1_line2")),
        BcField(
            bc="Post Code <-> address1_postalcode", note="postal code", entry=_f("postalCode", "address1_postalcode")
        ),
        BcField(bc="City <-> address1_city", note="city", entry=_f("city", "address1_city")),
        BcField(
            bc="Country/Region <-> address1_country",
            note="Business Central's country/region code (US, DK ...), written as is",
            entry=_f("country", "address1_country"),
        ),
        BcField(
            bc="County <-> address1_stateorprovince",
            note="state, province or county",
            entry=_f("state", "address1_stateorprovince"),
        ),
        BcField(bc="E-Mail <-> emailaddress1", note="e-mail", entry=_f("email", "emailaddress1")),
        BcField(bc="Fax <-> fax", note=_NOT_IN_CUSTOMER_API),
        BcField(bc="Home Page <-> websiteurl", note="web site", entry=_f("website", "websiteurl")),
        BcField(bc="Phone <-> telephone1", note="main phone", entry=_f("phoneNumber", "telephone1")),
        BcField(
            bc="Currency Code -> transactioncurrencyid",
            note="through the CURRENCY couplings; a customer waits (is retried) until its currency is coupled",
            entry=_f("currencyCode", "transactioncurrencyid", **_SENDS, lookup="CURRENCY"),
        ),
        BcField(
            bc="Currency Code <- transactioncurrencyid",
            note="an account in a currency that is not coupled (Sales' base currency) gets a blank code",
            entry=_f("currencyCode", "transactioncurrencyid", **_GETS, lookup="CURRENCY", clear_on_failed_lookup=True),
        ),
        BcField(
            bc="Salesperson Code -> ownerid",
            note="the user coupled to the salesperson (SALESPEOPLE) owns the account; never cleared (not null)",
            entry=_f(
                "salespersonCode", "ownerid", **_SENDS, lookup="SALESPEOPLE", lookup_local_by="code", not_null=True
            ),
        ),
        BcField(
            bc="Credit Limit -> creditlimit", note="credit limit", entry=_f("creditLimit", "creditlimit", **_SENDS)
        ),
        BcField(
            bc="Primary Contact No. <-> primarycontactid",
            note="not mapped, the API v2.0 customer entity has no primary contact",
        ),
        BcField(
            bc="No. -> accountnumber",
            note="the customer number; disabled by default, as in Business Central",
            entry=_f("number", "accountnumber", **_SENDS, enabled=False),
        ),
        BcField(
            bc="(constant) -> customertypecode",
            note="an account created from a customer is of type Customer (3)",
            entry=FieldModel(integration="customertypecode", constant=3, **_SENDS),
        ),
        BcField(
            bc="Payment Terms Code <-> paymenttermscode",
            note="option mapping PAYMENT TERMS. The API gives the payment terms' id: replace each key by the id of "
            "a paymentTerms record and each value by the option value in Sales (1 Net 30, 2 2% 10 Net 30, 3 Net 45, "
            "4 Net 60 by default), then set enabled = true",
            entry=_f(
                "paymentTermsId",
                "paymenttermscode",
                enabled=False,
                options={"id of 30 DAYS": 1, "id of 1M(8D)": 2, "id of 45 DAYS": 3, "id of 60 DAYS": 4},
            ),
        ),
        BcField(
            bc="Shipment Method Code <-> address1_freighttermscode",
            note="option mapping SHIPMENT METHOD, like payment terms: replace the keys by shipmentMethods ids "
            "(1 FOB, 2 No Charge by default), then set enabled = true",
            entry=_f(
                "shipmentMethodId",
                "address1_freighttermscode",
                enabled=False,
                options={"id of FOB": 1, "id of No Charge": 2},
            ),
        ),
        BcField(bc="Shipping Agent Code <-> address1_shippingmethodcode", note=_NOT_IN_CUSTOMER_API),
    ),
)

CONTACT = _mapping(
    name="CONTACT",
    comment="Contact persons of a company <-> active contacts with a parent account. Contacts outside these filters\n"
    "are left alone instead of failing on every run as in Business Central.",
    direction=Direction.BIDIRECTIONAL,
    depends_on=("CUSTOMER",),
    local=_bc(
        "contacts", "number", _eq("type", "Person"), ConditionModel(field="companyNumber", op=Operator.NE, value="")
    ),
    integration=_dv(
        "contacts",
        "contactid",
        "fullname",
        _eq("statecode", 0),
        ConditionModel(field="parentcustomerid", op=Operator.NOT_NULL),
    ),
    fields=(
        BcField(
            bc="First Name -> firstname",
            note="the API v2.0 contact has only displayName: its first word",
            entry=_name_part("firstname", _FIRST_NAME, r"\1"),
        ),
        BcField(
            bc="Middle Name -> middlename",
            note="the words between the first and the last",
            entry=_name_part("middlename", _MIDDLE_NAME, r"\1"),
        ),
        BcField(bc="Surname -> lastname", note="the last word", entry=_name_part("lastname", _SURNAME, r"\1")),
        BcField(
            bc="Name <- fullname",
            note="Business Central splits a person's name into first, middle and surname itself",
            entry=_f("displayName", "fullname", **_GETS),
        ),
        BcField(bc="Address <-> address1_line1", note="street, line 1", entry=_f("addressLine1", "address1_line1")),
        BcField(bc="Address 2 <-> address1_line2", note="street, line 2", entry=_f("addressLine2", "address1_line2")),
        BcField(
            bc="Post Code <-> address1_postalcode", note="postal code", entry=_f("postalCode", "address1_postalcode")
        ),
        BcField(bc="City <-> address1_city", note="city", entry=_f("city", "address1_city")),
        BcField(bc="Country/Region <-> address1_country", note="country code", entry=_f("country", "address1_country")),
        BcField(
            bc="County <-> address1_stateorprovince",
            note="state, province or county",
            entry=_f("state", "address1_stateorprovince"),
        ),
        BcField(
            bc="E-Mail <-> emailaddress1",
            note="e-mail; `coupler match` pairs contacts by it",
            entry=_f("email", "emailaddress1", match=1),
        ),
        BcField(bc="Fax <-> fax", note=_NOT_IN_CONTACT_API),
        BcField(bc="Home Page <-> websiteurl", note="web site", entry=_f("website", "websiteurl")),
        BcField(
            bc="Mobile Phone No. <-> mobilephone", note="mobile phone", entry=_f("mobilePhoneNumber", "mobilephone")
        ),
        BcField(bc="Pager <-> pager", note=_NOT_IN_CONTACT_API),
        BcField(bc="Phone No. <-> telephone1", note="business phone", entry=_f("phoneNumber", "telephone1")),
        BcField(bc="Currency Code -> transactioncurrencyid", note=_NOT_IN_CONTACT_API),
        BcField(bc="Salesperson Code -> ownerid", note=_NOT_IN_CONTACT_API),
        BcField(
            bc="Company No. <-> parentcustomerid",
            note="through the CUSTOMER couplings by the customer's number: this holds where a company contact "
            "has its customer's number; otherwise couple contacts by e-mail and drop this field",
            entry=_f("companyNumber", "parentcustomerid", lookup="CUSTOMER"),
        ),
    ),
)

ITEM_PRODUCT = _mapping(
    name="ITEM-PRODUCT",
    comment="Items that are not blocked <-> active products (bidirectional in Business Central's code; its docs call\n"
    "it to-integration): costs and inventory go to Sales only. Sales needs a unit group on a new product\n"
    "(defaultuomscheduleid, Business Central's UNIT OF MEASURE mapping), which this template does not map.",
    direction=Direction.BIDIRECTIONAL,
    local=_bc("items", "number", _eq("blocked", False)),
    integration=_dv("products", "productid", "productnumber", _eq("statecode", 0)),
    fields=(
        BcField(
            bc="No. <-> productnumber",
            note="the item number; `coupler match` pairs items and products by it",
            entry=_f("number", "productnumber", match=1),
        ),
        BcField(bc="Description <-> name", note="the item's description", entry=_f("displayName", "name")),
        BcField(bc="Unit Price <-> price", note="list price", entry=_f("unitPrice", "price")),
        BcField(bc="Unit Cost -> standardcost", note="standard cost", entry=_f("unitCost", "standardcost", **_SENDS)),
        BcField(bc="Unit Cost -> currentcost", note="current cost", entry=_f("unitCost", "currentcost", **_SENDS)),
        BcField(
            bc="Inventory -> quantityonhand", note="quantity on hand", entry=_f("inventory", "quantityonhand", **_SENDS)
        ),
        BcField(
            bc="(constant) -> producttypecode",
            note="a product created from an item is a Sales Inventory product (1)",
            entry=FieldModel(integration="producttypecode", constant=1, **_SENDS),
        ),
        BcField(bc="Gross Weight -> stockweight", note="not mapped, the API v2.0 item entity has no weight"),
        BcField(bc="Unit Volume -> stockvolume", note="not mapped, the API v2.0 item entity has no volume"),
    ),
)

BC_SALES = (SALESPEOPLE, CURRENCY, CUSTOMER, CONTACT, ITEM_PRODUCT)
"""The five table mappings in the order they synchronize: what a mapping looks up comes first."""

_HEADER = """\
coupler configuration for Business Central <-> Dynamics 365 Sales, written by `coupler init --template bc-sales`.
The mappings are Business Central's defaults for Sales, field by field (docs/bc-sales.md); every option is
described in docs/configuration.md.

local is a Business Central environment, reached through its API v2.0: tables are entity sets (customers,
contacts ...) and fields are the API's (displayName, addressLine1 ...). integration is a Dataverse organization
(the platform of Dynamics 365 Sales), reached through its Web API: tables are entity sets (accounts, contacts ...)
and fields are attribute logical names; a lookup is named by its attribute (ownerid, parentcustomerid).

Fill in the URLs, the company and the app registrations below. Secrets stay out of this file: they are read
from the environment variables named as ${NAME} when the file is loaded.

Nothing is coupled yet: with sync_only_coupled = true records are only synchronized once they are coupled.
Start with `coupler check`, then `coupler review`: it says which mappings to match first and which to
synchronize in full.
"""

_LOCAL = BusinessCentralSettings(
    name="Business Central",
    url="https://api.businesscentral.dynamics.com/v2.0/00000000-0000-0000-0000-000000000000/production/api/v2.0",
    tenant_id="00000000-0000-0000-0000-000000000000",
    client_id="11111111-1111-1111-1111-111111111111",
    client_secret=SecretStr("${BC_CLIENT_SECRET}"),
    company="CRONUS USA, Inc.",
)
_INTEGRATION = DataverseSettings(
    name="Dynamics 365 Sales",
    url="https://contoso.crm.dynamics.com",
    tenant_id="00000000-0000-0000-0000-000000000000",
    client_id="11111111-1111-1111-1111-111111111111",
    client_secret=SecretStr("${DATAVERSE_CLIENT_SECRET}"),
)
_BC_URLS = """\
https://api.businesscentral.dynamics.com/v2.0/<tenant>/<environment>/api/v2.0
(on premises: https://<host>:7048/<instance>/api/v2.0)"""
_BC_APP = 'OAuth client credentials of an app registered on Business Central\'s "Microsoft Entra Applications" page'
_BC_ALTERNATIVES = """\
on premises, basic auth with a web service access key instead of tenant_id, client_id and client_secret:
username = "ADMIN"
password = "${BC_WEB_SERVICE_KEY}"
authority = "https://login.microsoftonline.com"
verify = "path/to/ca.pem"                  # a CA file for a server with a private certificate"""
_DV_APP = "OAuth client credentials of an app registered as an application user in Dataverse"
_DV_OPTIONS = """\
authority = "https://login.microsoftonline.com"
page_size = 5000                           # records per page read
batch_size = 1000                          # records per write request"""
_SYSTEMS = Comments(
    above={
        (): _HEADER,
        ("local", "url"): _BC_URLS,
        ("local", "tenant_id"): _BC_APP,
        ("integration", "tenant_id"): _DV_APP,
    },
    beside={
        ("local", "company"): "the company's name or id",
        ("integration", "url"): "the organization's URL; /api/data/v9.2 is appended",
    },
    below={("local",): _BC_ALTERNATIVES, ("integration",): _DV_OPTIONS},
)

BC_SALES_COMMENTS = Comments.merge(_SYSTEMS, *(mapping.comments for mapping in BC_SALES))
"""The file's comments: its head, the systems' settings and the ones commented out, each mapping's and field's."""


def bc_sales_config(*, state_url: str = "sqlite:///coupler-state.db") -> FileModel:
    """The template's configuration: both systems (placeholders to fill in) and the five mappings."""
    return FileModel(
        state=state_url,
        local=_LOCAL,
        integration=_INTEGRATION,
        mappings=[mapping.mapping for mapping in BC_SALES],
    )


def render_bc_sales(*, state_url: str = "sqlite:///coupler-state.db") -> str:
    """The whole coupler.toml of the template."""
    return render_config(bc_sales_config(state_url=state_url), BC_SALES_COMMENTS)

"""The `bc-sales` template: Business Central's default table and field mappings for Dynamics 365 Sales, as data.

Local is a Business Central environment reached through its API v2.0 (entity and field names of that API);
integration is a Dataverse organization reached through its Web API (entity sets and attribute logical names).
Every field Business Central maps by default has an entry, ``BcField``: the field as Business Central names it, the
field model written to the config, or, when the API v2.0 entity has no such field, None and the reason. The file is
built as the configuration models coupler.config validates (``bc_sales_config``) and written by its TOML writer, a
comment line above each field.
"""

from __future__ import annotations

import re
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

__all__ = ["BC_SALES", "BC_SALES_COMMENTS", "BcField", "BcMapping", "bc_caption", "bc_sales_config", "render_bc_sales"]

_SENDS: dict[str, Any] = {"direction": Direction.TO_INTEGRATION}
_GETS: dict[str, Any] = {"direction": Direction.FROM_INTEGRATION}
_FIRST_NAME = r"^\s*(\S+)\s+.*$|^.*$"
_MIDDLE_NAME = r"^\s*\S+\s+(.*?)\s*\S+\s*$|^.*$"
_SURNAME = r"^.*?(\S*)\s*$"
_WIDTH = 112


@dataclass(frozen=True, kw_only=True, slots=True)
class BcField:
    """One of Business Central's default field mappings: ``bc`` names it as Business Central does ("Post Code
    <-> address1_postalcode"); ``entry`` is the config's field, or None with ``note`` saying why not. The entry's
    caption is Business Central's (the words before the arrow), or ``caption`` where Business Central sets the
    field in code."""

    bc: str
    note: str
    entry: FieldModel | None = None
    caption: str | None = None

    @property
    def captioned(self) -> FieldModel | None:
        """The entry with its caption."""
        if self.entry is None:
            return None
        caption = self.caption or bc_caption(self.bc)
        if not caption:
            raise ValueError(f"{self.bc}: Business Central gives this field no caption; give the BcField one")
        return FieldModel.model_validate({**self.entry.model_dump(exclude_unset=True), "caption": caption})


def bc_caption(bc: str) -> str:
    """Business Central's caption in a field mapping's name: "Post Code <-> address1_postalcode" -> "Post Code",
    "(in code) Blocked -> statecode" -> "Blocked", "(Name) <- fullname" -> "Name"; "" when it names none."""
    words = re.split(r" (?:<->|->|<-) ", bc, maxsplit=1)[0].removeprefix("(in code)").strip()
    if words.startswith("(") and words.endswith(")"):
        words = words[1:-1] if " " not in words else ""
    return words[:1].upper() + words[1:]


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
        if (entry := field.captioned) is not None:
            entries.append(entry)
    mapping, comments = commented_mapping(comment=comment, fields=entries, **settings)
    return BcMapping(mapping=mapping, comments=comments, fields=tuple(fields))


def _f(local: str, integration: str, **extra: Any) -> FieldModel:
    return FieldModel(local=local, integration=integration, **extra)


def _eq(field: str, value: Any) -> ConditionModel:
    return ConditionModel(field=field, op=Operator.EQ, value=value)


_CAPTIONS = {
    "salespeoplePurchasers": "Salesperson/Purchaser",
    "currencies": "Currency",
    "paymentTerms": "Payment Terms",
    "shipmentMethods": "Shipment Method",
    "unitsOfMeasure": "Unit of Measure",
    "customers": "Customer",
    "vendors": "Vendor",
    "contacts": "Contact",
    "items": "Item",
    "systemusers": "User",
    "transactioncurrencies": "Currency",
    "uomschedules": "Unit Group",
    "accounts": "Account",
    "products": "Product",
}
"""What Business Central and Sales call a record of each table (the tables' captions)."""


def _side(
    table: str, key: str, display_key: str, modified_on: str, conditions: Sequence[ConditionModel], **extra: Any
) -> SideModel:
    if conditions:
        extra["filter"] = list(conditions)
    return SideModel(
        table=table, caption=_CAPTIONS[table], key=key, display_key=display_key, modified_on=modified_on, **extra
    )


def _bc(entity_set: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    """A Business Central entity set, its records named by their number or code and their name (displayName)."""
    return _side(entity_set, "id", display_key, "lastModifiedDateTime", conditions, name_field="displayName")


def _dv(entity_set: str, key: str, display_key: str, *conditions: ConditionModel) -> SideModel:
    return _side(entity_set, key, display_key, "modifiedon", conditions)


def _name_part(integration: str, pattern: str, replacement: str) -> FieldModel:
    step = {"kind": "replace", "pattern": pattern, "replacement": replacement, "count": 1}
    return _f("displayName", integration, **_SENDS, transform=[TransformModel.model_validate(step)])


_NOT_IN_API = "not mapped, the API v2.0 {entity} entity has no such field"
_NOT_IN_CUSTOMER_API = _NOT_IN_API.format(entity="customer")
_NOT_IN_VENDOR_API = _NOT_IN_API.format(entity="vendor")
_NOT_IN_CONTACT_API = _NOT_IN_API.format(entity="contact")
_NOT_IN_ITEM_API = _NOT_IN_API.format(entity="item")
_EXTRA = "disabled by default, as Business Central creates it (an extra field mapping)"
_AT_LEAST_ZERO = TransformModel.model_validate({"kind": "number", "decimals": 2, "minimum": 0})


def _table(values: dict[str, Any]) -> TransformModel:
    """A strict ``map`` step: every value it meets must be in the table."""
    return TransformModel.model_validate({"kind": "map", "values": values, "strict": True})


def _extra(local: str, integration: str, **settings: Any) -> FieldModel:
    """One of the field mappings Business Central creates with Status = Disabled (AddExtraFieldMappings)."""
    return _f(local, integration, enabled=False, **settings)


def _option_set(name: str, *, bc_table: str, attribute: str, comment: str, caption: str) -> BcMapping:
    """PAYMENT TERMS and SHIPMENT METHOD: a Business Central code table <-> the values of an account option set,
    coupled by label as Business Central does (case-insensitively); a code with no value gets one, labelled with
    the code (CDS Int. Option Couple, CDSSetupDefaults.ResetOptionMappingConfiguration)."""
    return _mapping(
        name=name,
        comment=comment,
        direction=Direction.TO_INTEGRATION,
        local=_bc(bc_table, "code"),
        integration=SideModel(
            table=f"account.{attribute}", caption=f"{caption} option", key="value", display_key="label"
        ),
        fields=(
            BcField(
                bc=f"Code -> {attribute} (the option's label)",
                note="coupled by label; `coupler match --create-missing` adds the codes Sales lacks",
                entry=_f("code", "label", match=1),
            ),
        ),
    )


SALESPEOPLE = _mapping(
    name="SALESPEOPLE",
    comment="Salespeople come from Sales' users: enabled, licensed people, not integration (application) users.\n"
    "A new salesperson gets a code made as Business Central makes it; couple the salespeople Business Central\n"
    "already has with `coupler match SALESPEOPLE` (by e-mail) first. Needs Business Central 26.0 or later (the API\n"
    "v2.0 entity salespeoplePurchasers): `coupler check` says so.",
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
        BcField(bc="Job Title <- jobtitle", note=_EXTRA, entry=_extra("jobTitle", "jobtitle", **_GETS)),
        BcField(
            bc="E-Mail 2 <- personalemailaddress", note=_EXTRA, entry=_extra("email2", "personalemailaddress", **_GETS)
        ),
    ),
)

CURRENCY = _mapping(
    name="CURRENCY",
    comment="Currencies are kept in Business Central and sent to Sales. Business Central's local currency\n"
    "(LCY, General Ledger Setup) is not a currency record; coupler shows it as one more currency, so that it\n"
    "couples by ISO code with Sales' currency of that code (usually the base currency) and local-currency\n"
    "customers get that currency.",
    direction=Direction.TO_INTEGRATION,
    local=_bc("currencies", "code"),
    integration=_dv("transactioncurrencies", "transactioncurrencyid", "isocurrencycode"),
    fields=(
        BcField(
            bc="Code -> isocurrencycode",
            note="the ISO code (5 characters at most in Sales); Business Central couples currencies by it, and so "
            "does `coupler match`",
            entry=_f("code", "isocurrencycode", match=1),
        ),
        BcField(
            bc="Symbol -> currencysymbol",
            note="the currency's symbol; a blank symbol becomes the ISO code in Sales, as Business Central does",
            entry=_f("symbol", "currencysymbol"),
        ),
        BcField(bc="Description -> currencyname", note="the currency's name", entry=_f("displayName", "currencyname")),
        BcField(
            bc="(in code) Exchange rate -> exchangerate",
            note="units of the currency per 1 LCY from Business Central's exchange rates, sent on every "
            "synchronization as Business Central does; the precision is the organization's",
            entry=_f("exchangeRate", "exchangerate"),
        ),
    ),
)

PAYMENT_TERMS = _option_set(
    "PAYMENT TERMS",
    bc_table="paymentTerms",
    attribute="paymenttermscode",
    caption="Payment Terms",
    comment="Payment terms <-> the values of the accounts' Payment Terms option set (paymenttermscode).",
)

SHIPMENT_METHOD = _option_set(
    "SHIPMENT METHOD",
    bc_table="shipmentMethods",
    attribute="address1_freighttermscode",
    caption="Freight Terms",
    comment="Shipment methods <-> the values of the accounts' Freight Terms option set (address1_freighttermscode).",
)

UNIT_OF_MEASURE = _mapping(
    name="UNIT OF MEASURE",
    comment="Units of measure -> unit groups named 'NAV <code>' whose base unit is the code, as Business\n"
    "Central makes them for ITEM-PRODUCT (its unit-group variant has no API v2.0 page: docs/bc-sales.md).",
    direction=Direction.TO_INTEGRATION,
    local=_bc("unitsOfMeasure", "code"),
    integration=_dv("uomschedules", "uomscheduleid", "name"),
    fields=(
        BcField(
            bc="Code -> name",
            note="the unit group's name, 'NAV ' and the code",
            caption="Unit Group Name",
            entry=_f(
                "code",
                "name",
                transform=[
                    TransformModel.model_validate({"kind": "replace", "pattern": "^(.*)$", "replacement": r"NAV \1"})
                ],
            ),
        ),
        BcField(
            bc="Code -> baseuomname",
            note="the group's base unit, named by the code; `coupler match` couples existing groups by it",
            caption="Base Unit",
            entry=_f("code", "baseuomname", match=1),
        ),
    ),
)


def _account_fields(entity: str, missing: str) -> tuple[BcField, ...]:
    """The field mappings CUSTOMER and VENDOR share (CDSSetupDefaults.ResetCustomerAccountMapping and
    ResetVendorAccountMapping insert the same rows, but for the owner and the credit limit)."""
    return (
        BcField(
            bc="Name <-> name",
            note=f"the {entity}'s name; `coupler match` pairs {entity}s and accounts by it",
            entry=_f("displayName", "name", match=1),
        ),
        BcField(bc="Contact <-> address1_primarycontactname", note=missing),
        BcField(bc="Address <-> address1_line1", note="street, line 1", entry=_f("addressLine1", "address1_line1")),
        BcField(bc="Address 2 <-> address1_line2", note="street, line 2", entry=_f("addressLine2", "address1_line2")),
        BcField(
            bc="Post Code <-> address1_postalcode", note="postal code", entry=_f("postalCode", "address1_postalcode")
        ),
        BcField(bc="City <-> address1_city", note="city", entry=_f("city", "address1_city")),
        BcField(
            bc="Country/Region Code <-> address1_country",
            note="Business Central's country/region code (US, DK ...), written as is",
            entry=_f("country", "address1_country"),
        ),
        BcField(
            bc="County <-> address1_stateorprovince",
            note="state, province or county",
            entry=_f("state", "address1_stateorprovince"),
        ),
        BcField(
            bc="Currency Code <-> transactioncurrencyid",
            note="through the CURRENCY couplings; the local currency (a blank code) is Sales' currency of the LCY's "
            "ISO code, and that currency comes back as the LCY, which Business Central stores as blank",
            entry=_f("currencyCode", "transactioncurrencyid", lookup="CURRENCY"),
        ),
        BcField(bc="E-Mail <-> emailaddress1", note="e-mail", entry=_f("email", "emailaddress1")),
        BcField(bc="Fax No. <-> fax", note=missing),
        BcField(bc="Home Page <-> websiteurl", note="web site", entry=_f("website", "websiteurl")),
        BcField(bc="Phone No. <-> telephone1", note="main phone", entry=_f("phoneNumber", "telephone1")),
        BcField(
            bc="Payment Terms Code <-> paymenttermscode",
            note="through the PAYMENT TERMS couplings (the API names payment terms by id)",
            entry=_f("paymentTermsId", "paymenttermscode", lookup="PAYMENT TERMS", lookup_local_by="id"),
        ),
        BcField(
            bc="Primary Contact No. <-> primarycontactid (clear value on failed sync)",
            note=f"not mapped, the API v2.0 {entity} entity has no primary contact",
        ),
        BcField(bc="No. -> accountnumber", note=_EXTRA, entry=_extra("number", "accountnumber", **_SENDS)),
        BcField(bc="Mobile Phone No. <-> telephone2", note=f"{missing} ({_EXTRA})"),
        BcField(
            bc="(config template) -> customertypecode",
            note="Business Central sets the type through a config template when it creates an account; here a "
            "constant, which never changes anything the filter lets through",
            entry=FieldModel(integration="customertypecode", constant=3 if entity == "customer" else 11, **_SENDS),
            caption="Relationship Type",
        ),
    )


CUSTOMER = _mapping(
    name="CUSTOMER",
    comment='Customers that are not blocked (blocked is " ") <-> active accounts (statecode 0) of type Customer\n'
    "(customertypecode 3). blocked is an enum: filters and option mappings name its members as Business Central shows\n"
    'them (" ", Ship, Invoice, All); the API sends " " as _x0020_, and coupler translates both ways.',
    direction=Direction.BIDIRECTIONAL,
    depends_on=("SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD"),
    local=_bc("customers", "number", _eq("blocked", " ")),
    integration=_dv("accounts", "accountid", "name", _eq("statecode", 0), _eq("customertypecode", 3)),
    fields=(
        BcField(bc="(constant systemuser) -> owneridtype", note="not needed: the Web API binds the owner to a user"),
        BcField(
            bc="Salesperson Code -> ownerid",
            note="the user coupled to the salesperson (SALESPEOPLE) owns the account; never cleared (not null)",
            entry=_f(
                "salespersonCode", "ownerid", **_SENDS, lookup="SALESPEOPLE", lookup_local_by="code", not_null=True
            ),
        ),
        *_account_fields("customer", _NOT_IN_CUSTOMER_API),
        BcField(
            bc="Shipment Method Code <-> address1_freighttermscode",
            note="through the SHIPMENT METHOD couplings (the API names shipment methods by id)",
            entry=_f("shipmentMethodId", "address1_freighttermscode", lookup="SHIPMENT METHOD", lookup_local_by="id"),
        ),
        BcField(bc="Shipping Agent Code <-> address1_shippingmethodcode", note=_NOT_IN_CUSTOMER_API),
        BcField(
            bc="Credit Limit (LCY) -> creditlimit",
            note="credit limit",
            entry=_f("creditLimit", "creditlimit", **_SENDS),
        ),
    ),
)

VENDOR = _mapping(
    name="VENDOR",
    comment='Vendors that are not blocked (blocked is " ") <-> active accounts of type Vendor (customertypecode 11).',
    direction=Direction.BIDIRECTIONAL,
    depends_on=("CURRENCY", "PAYMENT TERMS"),
    local=_bc("vendors", "number", _eq("blocked", " ")),
    integration=_dv("accounts", "accountid", "name", _eq("statecode", 0), _eq("customertypecode", 11)),
    fields=(
        BcField(bc="Purchaser Code -> ownerid", note=_NOT_IN_VENDOR_API),
        *_account_fields("vendor", _NOT_IN_VENDOR_API),
        BcField(bc="Shipment Method Code <-> address1_freighttermscode", note=_NOT_IN_VENDOR_API),
        BcField(bc="Shipping Agent Code <-> address1_shippingmethodcode", note=_NOT_IN_VENDOR_API),
    ),
)

CONTACT = _mapping(
    name="CONTACT",
    comment="Persons whose company contact has a business relation to a customer <-> active contacts whose parent is\n"
    "an account. The parent is found as Business Central finds it: company contact -> customer (the business\n"
    "relation) -> the account coupled to it. Persons of a company without one are left alone, as Business Central\n"
    "skips them.",
    direction=Direction.BIDIRECTIONAL,
    depends_on=("CUSTOMER",),
    local=_bc(
        "contacts",
        "number",
        _eq("type", "Person"),
        ConditionModel(field="companyNumber", op=Operator.NE, value=""),
        ConditionModel(field="customerNumber", op=Operator.NE, value=""),
    ),
    integration=_dv(
        "contacts",
        "contactid",
        "fullname",
        _eq("statecode", 0),
        ConditionModel(field="parentcustomerid", op=Operator.NOT_NULL),
        _eq("parentcustomeridtype", "account"),
    ),
    fields=(
        BcField(bc="(constant systemuser) -> owneridtype", note=_NOT_IN_CONTACT_API),
        BcField(bc="Salesperson Code -> ownerid", note=_NOT_IN_CONTACT_API),
        BcField(bc="Currency Code <-> transactioncurrencyid", note=_NOT_IN_CONTACT_API),
        BcField(bc="Address <-> address1_line1", note="street, line 1", entry=_f("addressLine1", "address1_line1")),
        BcField(bc="Address 2 <-> address1_line2", note="street, line 2", entry=_f("addressLine2", "address1_line2")),
        BcField(
            bc="Post Code <-> address1_postalcode", note="postal code", entry=_f("postalCode", "address1_postalcode")
        ),
        BcField(bc="City <-> address1_city", note="city", entry=_f("city", "address1_city")),
        BcField(
            bc="Country/Region Code <-> address1_country", note="country code", entry=_f("country", "address1_country")
        ),
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
        BcField(bc="Fax No. <-> fax", note=_NOT_IN_CONTACT_API),
        BcField(
            bc="First Name <-> firstname",
            note="the API v2.0 contact has only its name (displayName): the first word goes to Sales",
            entry=_name_part("firstname", _FIRST_NAME, r"\1"),
        ),
        BcField(
            bc="Middle Name <-> middlename",
            note="the words between the first and the last",
            entry=_name_part("middlename", _MIDDLE_NAME, r"\1"),
        ),
        BcField(bc="Surname <-> lastname", note="the last word", entry=_name_part("lastname", _SURNAME, r"\1")),
        BcField(
            bc="(Name) <- fullname",
            note="Business Central splits a person's name into first, middle and surname itself",
            entry=_f("displayName", "fullname", **_GETS),
        ),
        BcField(bc="Home Page <-> websiteurl", note="web site", entry=_f("website", "websiteurl")),
        BcField(
            bc="Mobile Phone No. <-> mobilephone", note="mobile phone", entry=_f("mobilePhoneNumber", "mobilephone")
        ),
        BcField(bc="Pager <-> pager", note=_NOT_IN_CONTACT_API),
        BcField(bc="Phone No. <-> telephone1", note="business phone", entry=_f("phoneNumber", "telephone1")),
        BcField(
            bc="Type <- (constant Person)",
            note="a contact created from Sales is a person",
            entry=FieldModel(local="type", constant="Person", **_GETS),
        ),
        BcField(
            bc="(constant account) -> parentcustomeridtype",
            note="the parent is an account",
            entry=FieldModel(integration="parentcustomeridtype", constant="account", **_SENDS),
            caption="Parent Type",
        ),
        BcField(
            bc="(in code) Company No. <-> parentcustomerid",
            note="the customer of the person's company (customerNumber, through the business relation) <-> the "
            "account coupled to it (CUSTOMER); from Sales, the customer's company contact becomes the company",
            entry=_f("customerNumber", "parentcustomerid", lookup="CUSTOMER"),
        ),
        BcField(bc="Salutation Code <-> salutation", note=f"{_NOT_IN_CONTACT_API} ({_EXTRA})"),
    ),
)

ITEM_PRODUCT = _mapping(
    name="ITEM-PRODUCT",
    comment="Items that are not blocked <-> active Sales Inventory products (producttypecode 1). A product is created\n"
    "in its unit group (UNIT OF MEASURE) and made Active; a blocked item's product is retired, and a product that\n"
    "is not active blocks its item. Prices, costs and inventory go to Sales only, never below 0.",
    direction=Direction.BIDIRECTIONAL,
    depends_on=("UNIT OF MEASURE",),
    local=_bc("items", "number", _eq("blocked", False)),
    integration=_dv("products", "productid", "productnumber", _eq("producttypecode", 1), _eq("statecode", 0)),
    fields=(
        BcField(
            bc="No. -> productnumber",
            note="the item number; `coupler match` pairs items and products by it",
            entry=_f("number", "productnumber", **_SENDS, match=1),
        ),
        BcField(bc="Description <-> name", note="the item's description", entry=_f("displayName", "name")),
        BcField(
            bc="Unit Price -> price",
            note="list price",
            entry=_f("unitPrice", "price", **_SENDS, transform=[_AT_LEAST_ZERO]),
        ),
        BcField(
            bc="Unit Cost -> standardcost",
            note="standard cost",
            entry=_f("unitCost", "standardcost", **_SENDS, transform=[_AT_LEAST_ZERO]),
        ),
        BcField(
            bc="Unit Cost -> currentcost",
            note="current cost",
            caption="Unit Cost (Current Cost)",
            entry=_f("unitCost", "currentcost", **_SENDS, transform=[_AT_LEAST_ZERO]),
        ),
        BcField(bc="Unit Volume -> stockvolume", note=_NOT_IN_ITEM_API),
        BcField(bc="Gross Weight -> stockweight", note=_NOT_IN_ITEM_API),
        BcField(bc="Vendor No. -> vendorid", note=_NOT_IN_ITEM_API),
        BcField(bc="Vendor Item No. -> vendorpartnumber", note=_NOT_IN_ITEM_API),
        BcField(
            bc="Inventory -> quantityonhand",
            note="quantity on hand; a negative inventory is sent as 0, as Business Central does",
            entry=_f("inventory", "quantityonhand", **_SENDS, transform=[_AT_LEAST_ZERO]),
        ),
        BcField(
            bc="Base Unit of Measure <-> defaultuomscheduleid",
            note="through the UNIT OF MEASURE couplings; the group's base unit becomes the default unit",
            entry=_f("baseUnitOfMeasureCode", "defaultuomscheduleid", lookup="UNIT OF MEASURE"),
        ),
        BcField(
            bc="(in code) -> producttypecode",
            note="a product created from an item is a Sales Inventory product (1)",
            entry=FieldModel(integration="producttypecode", constant=1, **_SENDS),
            caption="Product Type",
        ),
        BcField(
            bc="(in code) -> quantitydecimal",
            note="quantities with 2 decimals, as Business Central sets before it creates a product",
            entry=FieldModel(integration="quantitydecimal", constant=2, **_SENDS),
            caption="Decimals Supported",
        ),
        BcField(
            bc="(in code) Blocked -> statecode",
            note="a blocked item retires its product (statecode 1), an unblocked one makes it Active (0); a new "
            "product, Draft in Sales, is made Active. (Business Central also blocks the item of a product that is not "
            "Active, but such a product is outside the filter, here as there.)",
            entry=_f("blocked", "statecode", **_SENDS, transform=[_table({"false": 0, "true": 1})]),
        ),
        BcField(
            bc="(in code) Blocked -> statuscode",
            note="the status that goes with the state: Retired (2) or Active (1)",
            entry=_f("blocked", "statuscode", **_SENDS, transform=[_table({"false": 1, "true": 2})]),
            caption="Blocked (Status Reason)",
        ),
    ),
)


BC_SALES = (
    SALESPEOPLE,
    CURRENCY,
    PAYMENT_TERMS,
    SHIPMENT_METHOD,
    UNIT_OF_MEASURE,
    CUSTOMER,
    VENDOR,
    CONTACT,
    ITEM_PRODUCT,
)
"""The table mappings in the order they synchronize: what a mapping looks up comes first."""

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


_PER_COMPANY = ("CUSTOMER", "VENDOR", "CONTACT", "ITEM-PRODUCT")
"""The mappings whose Dataverse records belong to a Business Central company (the ``bcbi_companyid`` lookup of
accounts, contacts and products: CRMAccount/CRMContact/CRMProduct tables; CDSIntTableSubscriber.SetCompanyId)."""


def for_company(mapping: BcMapping, company: str) -> BcMapping:
    """``mapping`` for one of several Business Central companies synchronized with one Dataverse environment, as
    Business Central does it: Dataverse records of this company or of none (the integration table filter
    ``CompanyId = <id> | <empty>``), and records coupler writes stamped with the company."""
    if mapping.name not in _PER_COMPANY:
        return mapping
    settings = mapping.mapping.model_dump(exclude={"fields"}, exclude_defaults=True)
    settings["integration"]["filter"] = [
        *settings["integration"].get("filter", []),
        ConditionModel(field="bcbi_companyid", op=Operator.IN, value=[company], or_null=True),
    ]
    stamp = BcField(
        bc="(in code) company -> bcbi_companyid",
        note="the Business Central company (its bcbi_company row in Dataverse) stamped on every record coupler writes",
        entry=FieldModel(integration="bcbi_companyid", constant=company, **_SENDS),
    )
    return _mapping(
        comment=mapping.comments.above[("mappings", mapping.name)], fields=(*mapping.fields, stamp), **settings
    )


def _chosen(company: str | None) -> tuple[BcMapping, ...]:
    return BC_SALES if company is None else tuple(for_company(m, company) for m in BC_SALES)


def bc_sales_config(
    *, state_url: str = "sqlite:///coupler-state.db", company: str | None = None, dataverse_company: str | None = None
) -> FileModel:
    """The template's configuration: both systems (placeholders to fill in) and the mappings. ``company`` names the
    Business Central company; ``dataverse_company`` (the id of its ``bcbi_company`` row in Dataverse, which
    `coupler check` shows) filters and stamps records by company, for several companies against one environment."""
    local = _LOCAL if company is None else _LOCAL.model_copy(update={"company": company})
    return FileModel(
        state=state_url,
        local=local,
        integration=_INTEGRATION,
        mappings=[mapping.mapping for mapping in _chosen(dataverse_company)],
    )


def render_bc_sales(
    *, state_url: str = "sqlite:///coupler-state.db", company: str | None = None, dataverse_company: str | None = None
) -> str:
    """The whole coupler.toml of the template."""
    config = bc_sales_config(state_url=state_url, company=company, dataverse_company=dataverse_company)
    comments = Comments.merge(_SYSTEMS, *(m.comments for m in _chosen(dataverse_company)))
    return render_config(config, comments)

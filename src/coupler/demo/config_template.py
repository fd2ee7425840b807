"""The demo's coupler.toml: table mappings modelled on Business Central's defaults for Dynamics 365 Sales.

The mappings are data (``DEMO_MAPPINGS``) rendered to TOML by a small writer, so the file stays readable: one
inline table per side and per field. Lookup fields (salesperson -> owner, currency, parent account) are left out
for now.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DEMO_MAPPINGS", "MappingTemplate", "render_config", "toml_value"]

_HEADER = """\
# coupler configuration for the demo, written by `coupler demo`. Every option is described in
# docs/configuration.md.
#
# local is the ERP (erp.db: tables and fields named like the Business Central API v2.0); integration is the CRM
# (crm.db: tables and columns named like Dataverse, the platform of Dynamics 365 Sales). Relative paths in URLs
# are resolved against the folder of this file. state is where coupler keeps couplings, watermarks and jobs.
#
# Each [[mappings]] entry is a table mapping, named like Business Central's: a table on each side (key, display
# key, modified-on column, filter), the direction data flows, and field by field what is copied. A field entry
# has local and integration (or a constant instead of the source field), an optional direction within the
# mapping's, and enabled (default true). Filter operators: eq, ne, lt, le, gt, ge, in, not_in, is_null,
# not_null, startswith, contains.
#
# Nothing is coupled yet: with sync_only_coupled = true, records are only synchronized once they are coupled.
"""

_DIRECTIONS = "# bidirectional | to-integration | from-integration"


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingTemplate:
    name: str
    comment: str
    direction: str
    local: Mapping[str, Any]
    integration: Mapping[str, Any]
    fields: Sequence[Mapping[str, Any] | str]
    """Field entries; a string is written as a comment line."""
    depends_on: tuple[str, ...] = ()
    sync_only_coupled: bool = True


def _side(table: str, key: str, display_key: str, modified_on: str, *conditions: Mapping[str, Any]) -> dict[str, Any]:
    side: dict[str, Any] = {"table": table, "key": key, "display_key": display_key, "modified_on": modified_on}
    if conditions:
        side["filter"] = list(conditions)
    return side


def _eq(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "eq", "value": value}


def _f(local: str, integration: str, **extra: Any) -> dict[str, Any]:
    return {"local": local, "integration": integration, **extra}


def _erp(table: str, display_key: str, *conditions: Mapping[str, Any]) -> dict[str, Any]:
    return _side(table, "id", display_key, "lastModifiedDateTime", *conditions)


def _crm(table: str, display_key: str, *conditions: Mapping[str, Any]) -> dict[str, Any]:
    return _side(table, f"{table}id", display_key, "modifiedon", *conditions)


_TO_CRM = {"direction": "to-integration"}

DEMO_MAPPINGS = (
    MappingTemplate(
        name="SALESPEOPLE",
        comment="Salespeople come from the CRM's users: enabled, licensed people, not integration users.",
        direction="from-integration",
        local=_erp("salespeoplePurchasers", "code"),
        integration=_crm(
            "systemuser", "fullname", _eq("isdisabled", 0), _eq("islicensed", 1), _eq("isintegrationuser", 0)
        ),
        fields=(
            "# a new salesperson's code is made from the initials of its name",
            _f("displayName", "fullname"),
            _f("email", "internalemailaddress"),
            _f("phoneNo", "mobilephone"),
        ),
    ),
    MappingTemplate(
        name="CURRENCY",
        comment="Currencies are kept in the ERP and sent to the CRM.",
        direction="to-integration",
        local=_erp("currencies", "code"),
        integration=_crm("transactioncurrency", "isocurrencycode"),
        fields=(
            _f("code", "isocurrencycode"),
            _f("symbol", "currencysymbol"),
            _f("displayName", "currencyname"),
        ),
    ),
    MappingTemplate(
        name="CUSTOMER",
        comment="Customers that are not blocked <-> active accounts of type Customer.",
        direction="bidirectional",
        depends_on=("SALESPEOPLE", "CURRENCY"),
        local=_erp("customers", "number", _eq("blocked", "")),
        integration=_crm("account", "name", _eq("statecode", 0), _eq("customertypecode", 3)),
        fields=(
            _f("displayName", "name"),
            _f("addressLine1", "address1_line1"),
            _f("addressLine2", "address1_line2"),
            _f("city", "address1_city"),
            _f("state", "address1_stateorprovince"),
            _f("postalCode", "address1_postalcode"),
            _f("country", "address1_country"),
            _f("phoneNumber", "telephone1"),
            _f("email", "emailaddress1"),
            _f("website", "websiteurl"),
            _f("creditLimit", "creditlimit", **_TO_CRM),
            {"integration": "customertypecode", "constant": 3, **_TO_CRM},
            _f("number", "accountnumber", **_TO_CRM, enabled=False),
            "# lookups come later: salespersonCode -> ownerid, currencyCode <-> transactioncurrencyid",
        ),
    ),
    MappingTemplate(
        name="CONTACT",
        comment="Contact persons <-> active contacts.",
        direction="bidirectional",
        depends_on=("CUSTOMER",),
        local=_erp("contacts", "number", _eq("type", "Person")),
        integration=_crm("contact", "fullname", _eq("statecode", 0)),
        fields=(
            _f("firstName", "firstname"),
            _f("middleName", "middlename"),
            _f("surname", "lastname"),
            _f("jobTitle", "jobtitle"),
            _f("addressLine1", "address1_line1"),
            _f("city", "address1_city"),
            _f("postalCode", "address1_postalcode"),
            _f("country", "address1_country"),
            _f("phoneNumber", "telephone1"),
            _f("mobilePhoneNumber", "mobilephone"),
            _f("email", "emailaddress1"),
            "# the lookup companyNumber <-> parentcustomerid comes later",
        ),
    ),
    MappingTemplate(
        name="ITEM-PRODUCT",
        comment="Items that are not blocked <-> active products; costs and inventory go to the CRM only.",
        direction="bidirectional",
        local=_erp("items", "number", _eq("blocked", 0)),
        integration=_crm("product", "productnumber", _eq("statecode", 0)),
        fields=(
            _f("number", "productnumber"),
            _f("displayName", "name"),
            _f("unitPrice", "price"),
            _f("unitCost", "standardcost", **_TO_CRM),
            _f("inventory", "quantityonhand", **_TO_CRM),
        ),
    ),
)


def toml_value(value: Any) -> str:
    """A value as TOML: strings, booleans, numbers, arrays and inline tables."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _mapping(template: MappingTemplate) -> list[str]:
    lines = [
        f"# {template.comment}",
        "[[mappings]]",
        f"name = {toml_value(template.name)}",
        f"direction = {toml_value(template.direction):<25}{_DIRECTIONS}",
        f"sync_only_coupled = {toml_value(template.sync_only_coupled)}",
        f"depends_on = {toml_value(list(template.depends_on))}",
        f"local = {toml_value(template.local)}",
        f"integration = {toml_value(template.integration)}",
        "fields = [",
    ]
    for entry in template.fields:
        lines.append(f"  {entry}" if isinstance(entry, str) else f"  {toml_value(entry)},")
    lines.append("]")
    return lines


def render_config(
    *,
    erp_url: str = "sqlite:///erp.db",
    crm_url: str = "sqlite:///crm.db",
    state_url: str = "sqlite:///coupler-state.db",
) -> str:
    lines = [
        _HEADER.rstrip("\n"),
        f"state = {toml_value(state_url)}",
        "",
        "[local]",
        f"name = {toml_value('CRONUS (demo Business Central)')}",
        'kind = "sql"',
        f"url = {toml_value(erp_url)}",
        "",
        "[integration]",
        f"name = {toml_value('Sales (demo Dynamics 365)')}",
        'kind = "sql"',
        f"url = {toml_value(crm_url)}",
    ]
    for template in DEMO_MAPPINGS:
        lines.extend(["", *_mapping(template)])
    return "\n".join(lines) + "\n"

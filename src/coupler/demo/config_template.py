"""The demo's coupler.toml: table mappings modelled on Business Central's defaults for Dynamics 365 Sales.

The mappings are data (``DEMO_MAPPINGS``) rendered to TOML by a small writer, so the file stays readable: one
inline table per side and per field. They hold Business Central's lookups (salesperson -> owner, currency, the
contact's company), the payment terms option mapping, transformations and the fields match-based coupling uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coupler.demo import catalog

__all__ = ["DEMO_MAPPINGS", "MappingTemplate", "render_config", "render_mapping", "toml_value"]

_HEADER = """\
# coupler configuration for the demo, written by `coupler demo`. Every option is described in
# docs/configuration.md.
#
# local is the ERP (erp.db: tables and fields named like the Business Central API v2.0); integration is the CRM
# (crm.db: tables and columns named like Dataverse, the platform of Dynamics 365 Sales). Relative paths in URLs
# are resolved against the folder of this file. state is where coupler keeps couplings, watermarks and jobs.
#
# Each [[mappings]] entry is a table mapping, named like Business Central's: a table on each side (key, display
# key, modified-on column, filter), the direction data flows, what happens when both sides change the same field
# (update_conflict) or a coupled record is deleted (deletion_conflict, delete), and field by field what is copied.
# Filter operators: eq, ne, lt, le, gt, ge, in, not_in, is_null, not_null, startswith, contains.
#
# A field entry has local and integration (or a constant instead of the source field), an optional direction
# within the mapping's, and enabled (default true). Optional: match (the priority group `coupler match` tries,
# lowest first), case_sensitive, transform (steps such as trim, upper, replace, map), options (local code ->
# integration option value), and lookup (the value names a record of another mapping and is translated through
# its couplings; lookup_local_by / lookup_integration_by name the column it refers to, not_null never writes a
# null, clear_on_failed_lookup writes null instead of failing when that record is not coupled). A mapping must
# depend on the mappings its fields look up.
#
# Nothing is coupled yet: with sync_only_coupled = true, records are only synchronized once they are coupled.
# Start with `coupler review`: it says which mappings to match first and which to synchronize in full.
"""

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_DIRECTIONS = "# bidirectional | to-integration | from-integration"
_POLICIES = {
    "update_conflict": "# none (park it for `coupler resolve`) | local-wins | integration-wins",
    "deletion_conflict": "# none (fail) | restore | remove-coupling",
    "delete": "# ignore | propagate (a deletion waits for `coupler approve`)",
}


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
    update_conflict: str = "none"
    deletion_conflict: str = "none"
    delete: str = "ignore"


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
_FROM_CRM = {"direction": "from-integration"}
_TRIM = [{"kind": "trim"}]
_PAYMENT_TERMS = dict(catalog.PAYMENT_TERMS)

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
            "# a new salesperson's code is made from the initials of its name; `coupler match` pairs them by e-mail",
            _f("displayName", "fullname"),
            _f("email", "internalemailaddress", match=1),
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
            "# the local currency is not in the ERP's table: a blank currency code means the CRM's base currency",
            _f("code", "isocurrencycode", match=1),
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
            _f("displayName", "name", match=1, transform=_TRIM),
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
            "# the salesperson's code -> the systemuserid of the user coupled to that salesperson",
            _f("salespersonCode", "ownerid", **_TO_CRM, lookup="SALESPEOPLE", lookup_local_by="code", not_null=True),
            "# the currency, one way at a time: a customer waits (is retried) until its currency is coupled;",
            "# an account in a currency that is not coupled (the CRM's base currency) gets a blank code",
            _f("currencyCode", "transactioncurrencyid", **_TO_CRM, lookup="CURRENCY"),
            _f("currencyCode", "transactioncurrencyid", **_FROM_CRM, lookup="CURRENCY", clear_on_failed_lookup=True),
            "# Business Central's option mapping PAYMENT TERMS: code <-> the account's option set value",
            _f("paymentTermsCode", "paymenttermscode", transform=[*_TRIM, {"kind": "upper"}], options=_PAYMENT_TERMS),
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
            _f("email", "emailaddress1", match=1),
            "# the contact's customer number <-> the accountid of the account coupled to that customer",
            _f("companyNumber", "parentcustomerid", lookup="CUSTOMER"),
        ),
    ),
    MappingTemplate(
        name="ITEM-PRODUCT",
        comment="Items that are not blocked <-> active products; costs and inventory go to the CRM only.",
        direction="bidirectional",
        local=_erp("items", "number", _eq("blocked", 0)),
        integration=_crm("product", "productnumber", _eq("statecode", 0)),
        fields=(
            _f("number", "productnumber", match=1),
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
        quoted = any(not _BARE_KEY.match(str(k)) for k in value)  # all keys alike: { "30 DAYS" = 1, "CM" = 3 }
        keys = [json.dumps(str(k), ensure_ascii=False) if quoted else str(k) for k in value]
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in zip(keys, value.values(), strict=True)) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _commented(line: str, comment: str) -> str:
    return f"{line:<37}{comment}"


def render_mapping(template: MappingTemplate) -> list[str]:
    """A table mapping as ``[[mappings]]`` lines, its comment (one ``#`` line per line) first."""
    lines = [
        *(f"# {line}" for line in template.comment.splitlines()),
        "[[mappings]]",
        f"name = {toml_value(template.name)}",
        _commented(f"direction = {toml_value(template.direction)}", _DIRECTIONS),
        f"sync_only_coupled = {toml_value(template.sync_only_coupled)}",
        f"depends_on = {toml_value(list(template.depends_on))}",
        *(_commented(f"{key} = {toml_value(getattr(template, key))}", note) for key, note in _POLICIES.items()),
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
        lines.extend(["", *render_mapping(template)])
    return "\n".join(lines) + "\n"

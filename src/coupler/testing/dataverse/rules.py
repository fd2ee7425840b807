"""What Dataverse checks and does itself when a product, a currency, a unit group or a choice is written: the
rules of single tables, beyond the column types and lengths the store checks. A table marked ``lenient`` (the
demo's) skips them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from coupler.testing.dataverse import optionsets
from coupler.testing.odata.http import ODataError

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["after_create", "check_create", "check_update", "organization"]

# learn.microsoft.com/dynamics365/sales/developer/entities/product (ce-docs product.md): name and the unit fields are
# ApplicationRequired, productnumber SystemRequired. That the platform refuses a create without the
# ApplicationRequired ones is NOT documented (docs/research/bc-sales-sources.md, point 4): this server refuses, the
# strict choice, because Business Central always sends them.
_PRODUCT_REQUIRED = ("name", "productnumber", "defaultuomscheduleid", "defaultuomid", "quantitydecimal")
# ce-docs product.md: Money price/standardcost/currentcost MinValue 0 MaxValue 1,000,000,000,000; quantityonhand,
# stockweight, stockvolume Decimal MinValue 0 MaxValue 1,000,000,000.
_PRODUCT_RANGES = {
    "price": (0, 1_000_000_000_000),
    "standardcost": (0, 1_000_000_000_000),
    "currentcost": (0, 1_000_000_000_000),
    "quantityonhand": (0, 1_000_000_000),
    "stockweight": (0, 1_000_000_000),
    "stockvolume": (0, 1_000_000_000),
    "quantitydecimal": (0, 5),
}
# ce-docs product.md, statecode/statuscode: 0 Active (1 Active), 1 Retired (2 Retired), 2 Draft (0 Draft),
# 3 Under Revision (3 Under Revision).
_PRODUCT_STATES = {0: ("Active", 1), 1: ("Retired", 2), 2: ("Draft", 0), 3: ("UnderRevision", 3)}
# learn.microsoft.com/power-apps/developer/data-platform/reference/entities/transactioncurrency: currencyname,
# currencyprecision (0..10), currencysymbol (max 10), exchangerate (1E-12..1E11), isocurrencycode (max 5) are
# SystemRequired.
_CURRENCY_REQUIRED = ("currencyname", "currencyprecision", "currencysymbol", "exchangerate", "isocurrencycode")
_CURRENCY_RANGES = {"currencyprecision": (0, 10), "exchangerate": (1e-12, 1e11)}


def organization(server: DataverseOps, conn: sa.Connection) -> Mapping[str, Any]:
    """The organization row (``organizations``), or nothing when the server has none."""
    entity_set = server.sets.get("organizations")
    if entity_set is None:
        return {}
    row = conn.execute(sa.select(entity_set.meta.table).limit(1)).mappings().first()
    return dict(row) if row is not None else {}


def check_create(server: DataverseOps, conn: sa.Connection, entity_set: EntitySet, values: dict[str, Any]) -> None:
    """Refuse what Dataverse refuses on create and fill in what it fills in (a product's Draft state)."""
    optionsets.check_values(conn, entity_set, values)
    if entity_set.config.lenient:
        return
    logical = entity_set.logical
    if logical == "product":
        _required(entity_set, values, _PRODUCT_REQUIRED)
        _ranges(entity_set, values, _PRODUCT_RANGES)
        # ce-docs publish-revise-revert-retire-activate-products: "By default, a product record is in the Draft state
        # when you create it", Active when Organization.CreateProductsWithoutParentInActiveState is 1.
        active = bool(organization(server, conn).get("createproductswithoutparentinactivestate"))
        state = 0 if active else 2
        if values.get("statecode") not in (None, state):
            raise ODataError(
                400,
                "0x80040203",
                "A product cannot be created in another state than its first one; change its state with SetState "
                "(PATCH statecode and statuscode) once it exists.",
            )  # a strict choice: the docs only say how a product starts and how SetState changes it
        values["statecode"], values["statuscode"] = state, _PRODUCT_STATES[state][1]
    elif logical == "transactioncurrency":
        _required(entity_set, values, _CURRENCY_REQUIRED)
        _ranges(entity_set, values, _CURRENCY_RANGES)
    elif logical == "uomschedule":
        _required(entity_set, values, ("name", "baseuomname"))


def check_update(
    server: DataverseOps, conn: sa.Connection, entity_set: EntitySet, row: Mapping[str, Any], values: dict[str, Any]
) -> None:
    optionsets.check_values(conn, entity_set, values)
    if entity_set.config.lenient:
        return
    logical = entity_set.logical
    if logical == "product":
        _ranges(entity_set, values, _PRODUCT_RANGES)
        _cleared(entity_set, values, _PRODUCT_REQUIRED)
        _set_state(entity_set, row, values)
    elif logical == "transactioncurrency":
        _ranges(entity_set, values, _CURRENCY_RANGES)
        _cleared(entity_set, values, _CURRENCY_REQUIRED)
        base = organization(server, conn).get("basecurrencyid")
        changed = "exchangerate" in values and values["exchangerate"] != row.get("exchangerate")
        key = row[entity_set.meta.key]
        if changed and base is not None and str(base).lower() == str(key).lower():
            # transactioncurrency.md: exchangerate is "Exchange rate for the currency associated with the
            # transactioncurrency with respect to the base currency"; the base currency's is 1 and Dataverse's UI
            # does not let it change. The API's message is not documented: this one is chosen.
            raise ODataError(400, "0x80040203", "The exchange rate of the base currency cannot be changed.")


def after_create(server: DataverseOps, conn: sa.Connection, entity_set: EntitySet, key: str) -> None:
    """A new unit group gets its base unit, named by ``baseuomname``, quantity 1. [inferred] No doc sentence says
    so; Business Central's UNIT OF MEASURE mapping creates only the group and then expects exactly one base unit
    in it (BCApps CRMSynchHelper.GetValidCRMUnitOfMeasureRecords), see docs/research/bc-sales-sources.md, point 4."""
    if entity_set.config.lenient or entity_set.logical != "uomschedule" or "uoms" not in server.sets:
        return
    group = server.store.get(conn, entity_set.meta.name, key) or {}
    uoms = server.sets["uoms"]
    base = {"uomid": str(uuid.uuid4()), "name": group.get("baseuomname"), "quantity": 1, "isschedulebaseuom": 1}
    base["uomscheduleid"] = key
    server.store.insert(conn, uoms.meta.name, base)


def _required(entity_set: EntitySet, values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if values.get(name) in (None, ""):
            raise ODataError(
                400,
                "0x80040203",
                f"A validation error occurred. The '{name}' attribute of the '{entity_set.logical}' entity is "
                "required and has no value.",
            )


def _cleared(entity_set: EntitySet, values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    _required(entity_set, {n: values[n] for n in names if n in values}, tuple(n for n in names if n in values))


def _ranges(entity_set: EntitySet, values: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]]) -> None:
    """Dataverse's out-of-range message (as the platform words it for a MinValue/MaxValue breach)."""
    for name, (low, high) in ranges.items():
        value = values.get(name)
        if isinstance(value, int | float) and not low <= value <= high:
            raise ODataError(
                400,
                "0x80044331",
                f"A validation error occurred. The value {value} of '{name}' on record of type "
                f"'{entity_set.logical}' is outside the valid range. Accepted Values: {_number(low)} to "
                f"{_number(high)}",
            )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _set_state(entity_set: EntitySet, row: Mapping[str, Any], values: dict[str, Any]) -> None:
    """SetState through PATCH (ce-docs publish-revise-revert-retire-activate-products: an individual product is
    published by setting statecode 0 / statuscode 1): only a valid pair is accepted."""
    if "statecode" not in values and "statuscode" not in values:
        return
    state = values.get("statecode", row.get("statecode"))
    if state not in _PRODUCT_STATES:
        raise ODataError(400, "0x80040203", f"{state} is not a valid state code on product.")
    name, default = _PRODUCT_STATES[state]
    status = values.get("statuscode", default if "statecode" in values else row.get("statuscode"))
    if status != default:
        raise ODataError(
            400,
            "0x80040203",
            f"{status} is not a valid status code for state code ProductState.{name} on product with Id "
            f"{row[entity_set.meta.key]}.",
        )
    values["statecode"], values["statuscode"] = state, status

"""What the connector learns of a table's schema, as pure functions of the metadata answers: its columns from
``EntityDefinitions(...)/Attributes`` and its navigation properties from ``.../ManyToOneRelationships``.

- A lookup ``X`` is read as ``_X_value``. One with several targets (``parentcustomerid``: account or contact; an
  owner: systemuser or team) also gets the column ``Xtype`` (as Dataverse's own EntityName attribute is named,
  ``parentcustomeridtype``): its value is the ``Microsoft.Dynamics.CRM.lookuplogicalname`` annotation of
  ``_X_value``, which the service sends only when asked (learn.microsoft.com/power-apps/developer/data-platform/
  webapi/query-data-web-api, "Lookup property data"). Attributes that are the part of another (``AttributeOf``:
  ``owneridname``, ``parentcustomeridtype``) are no Web API properties and are left out.
- A lookup is written as ``<nav>@odata.bind``, ``<nav>`` the relationship's
  ``ReferencingEntityNavigationPropertyName`` for (ReferencingAttribute, ReferencedEntity): case-sensitive, one per
  target of a multi-table lookup (``parentcustomerid_account``), the SchemaName of a custom lookup
  (``bcbi_CompanyId``), never derived from the logical name (learn.microsoft.com/power-apps/developer/data-platform/
  webapi/web-api-navigation-properties).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.ports.connector import ColumnInfo

__all__ = ["ANNOTATION", "LOOKUPS", "entity_of", "navigation_names", "navigation_of", "type_columns"]

ANNOTATION = "Microsoft.Dynamics.CRM.lookuplogicalname"
LOOKUPS = {"Lookup", "Owner", "Customer"}
_TYPES = {
    "String": "string",
    "Memo": "string",
    "EntityName": "string",
    "Integer": "integer",
    "BigInt": "integer",
    "Picklist": "integer",
    "State": "integer",
    "Status": "integer",
    "Decimal": "decimal",
    "Money": "decimal",
    "Double": "float",
    "Boolean": "boolean",
    "DateTime": "datetime",
    "Uniqueidentifier": "uuid",
    "Lookup": "uuid",
    "Owner": "uuid",
    "Customer": "uuid",
}


def entity_of(table: str, logical: str, key: str, attributes: list[Mapping[str, Any]]) -> EntityInfo:
    columns: dict[str, ColumnInfo] = {}
    wire: dict[str, str] = {}
    lookups: dict[str, tuple[str, ...]] = {}
    owners = set()
    for attribute in attributes:
        name = str(attribute["LogicalName"])
        if attribute.get("AttributeOf"):
            continue
        kind = str(attribute.get("AttributeType") or "")
        required = (attribute.get("RequiredLevel") or {}).get("Value") in ("SystemRequired", "ApplicationRequired")
        primary = name == key or bool(attribute.get("IsPrimaryId"))
        length = attribute.get("MaxLength")
        columns[name] = ColumnInfo(
            name=name,
            type=_TYPES.get(kind, kind.lower() or "string"),
            nullable=not (required or primary),
            max_length=int(length) if isinstance(length, int) and kind in ("String", "Memo") else None,
            primary_key=primary,
        )
        if kind in LOOKUPS:
            wire[name] = f"_{name}_value"
            lookups[name] = tuple(str(t) for t in attribute.get("Targets") or ())
            if kind == "Owner":
                owners.add(name)
    for lookup, kind_column in type_columns(lookups).items():
        columns[kind_column] = ColumnInfo(name=kind_column, type="string", nullable=True)
        wire[kind_column] = f"_{lookup}_value@{ANNOTATION}"
    return EntityInfo(
        entity_set=table,
        key=key,
        columns=columns,
        type_name=logical,
        wire=wire,
        lookups=lookups,
        owners=frozenset(owners),
    )


def type_columns(lookups: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Multi-table lookup -> the column holding its table (``parentcustomerid`` -> ``parentcustomeridtype``)."""
    return {name: f"{name}type" for name, targets in lookups.items() if len(targets) > 1}


def navigation_names(answer: Any) -> dict[tuple[str, str], str]:
    """(ReferencingAttribute, ReferencedEntity) -> ReferencingEntityNavigationPropertyName."""
    names: dict[tuple[str, str], str] = {}
    for relationship in (answer.get("value") if isinstance(answer, dict) else None) or []:
        attribute = relationship.get("ReferencingAttribute")
        target = relationship.get("ReferencedEntity")
        nav = relationship.get("ReferencingEntityNavigationPropertyName")
        if attribute and target and nav:
            names[(str(attribute), str(target))] = str(nav)
    return names


def navigation_of(names: Mapping[tuple[str, str], str], attribute: str, target: str) -> str | None:
    """The navigation property binding ``attribute`` to a record of ``target``; an owner lookup has one for all
    its targets (ReferencedEntity ``owner``)."""
    if (attribute, target) in names:
        return names[(attribute, target)]
    mine = {nav for (name, _), nav in names.items() if name == attribute}
    return next(iter(mine)) if len(mine) == 1 else None

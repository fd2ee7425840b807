"""The metadata the connector reads: ``EntityDefinitions?$filter=EntitySetName eq 'accounts'`` and
``EntityDefinitions(LogicalName='account')/Attributes``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from coupler.testing.dataverse.navigation import relationships
from coupler.testing.odata.http import ODataError, Request, Response, json_response

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet
    from coupler.testing.dataverse.ops import DataverseOps

__all__ = ["handle"]

_DEFINITION = re.compile(r"^EntityDefinitions(?:\((?:LogicalName=)?'(?P<name>\w+)'\))?(?:/(?P<rest>\w+))?$")
_FILTER = re.compile(r"^\s*(EntitySetName|LogicalName)\s+eq\s+'([^']*)'\s*$")
_KINDS = {"string": "String", "integer": "Integer", "real": "Decimal"}


def handle(server: DataverseOps, request: Request) -> Response:
    if request.method != "GET":
        raise ODataError(405, "0x80060888", "The metadata is read-only here.")
    match = _DEFINITION.match(request.path)
    if match is None:
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{request.path}'.")
    root = f"{request.root}$metadata#EntityDefinitions"
    if match.group("name") is None:
        sets = list(server.sets.values())
        if request.query.get("$filter"):
            condition = _FILTER.match(request.query["$filter"])
            if condition is None:
                raise ODataError(
                    400, "0x80060888", "Filter EntityDefinitions by EntitySetName or LogicalName eq '...'."
                )
            field, value = condition.groups()
            sets = [s for s in sets if (s.name if field == "EntitySetName" else s.logical) == value]
        return json_response(200, {"@odata.context": root, "value": [_select(_definition(s), request) for s in sets]})
    entity_set = next((s for s in server.sets.values() if s.logical == match.group("name")), None)
    if entity_set is None:
        raise ODataError(404, "0x80040217", f"Could not find an entity with the logical name '{match.group('name')}'.")
    if match.group("rest") is None:
        return json_response(200, {"@odata.context": f"{root}/$entity", **_select(_definition(entity_set), request)})
    if match.group("rest") == "ManyToOneRelationships":
        found = [_select(r, request) for r in relationships(entity_set, server.sets)]
        return json_response(
            200, {"@odata.context": f"{root}('{entity_set.logical}')/ManyToOneRelationships", "value": found}
        )
    if match.group("rest") != "Attributes":
        raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{match.group('rest')}'.")
    attributes = [_select(a, request) for a in _attributes(server, entity_set)]
    return json_response(200, {"@odata.context": f"{root}('{entity_set.logical}')/Attributes", "value": attributes})


def _definition(entity_set: EntitySet) -> dict[str, Any]:
    return {
        "LogicalName": entity_set.logical,
        "EntitySetName": entity_set.name,
        "PrimaryIdAttribute": entity_set.meta.key,
        "PrimaryNameAttribute": entity_set.config.primary_name,
        "ChangeTrackingEnabled": entity_set.config.change_tracking,
        "MetadataId": None,
    }


def _attributes(server: DataverseOps, entity_set: EntitySet) -> list[dict[str, Any]]:
    config = entity_set.config
    attributes: list[dict[str, Any]] = []
    of = {kept: lookup for lookup, kept in entity_set.type_columns.items()}
    for column in entity_set.meta.columns.values():
        kind = _KINDS[column.kind]
        if column.name in of:  # parentcustomeridtype: an EntityName attribute of the lookup, not a Web API property
            attributes.append(
                {
                    "@odata.type": "#Microsoft.Dynamics.CRM.EntityNameAttributeMetadata",
                    "LogicalName": column.name,
                    "AttributeType": "EntityName",
                    "AttributeOf": of[column.name],
                    "MaxLength": None,
                    "IsPrimaryId": False,
                    "IsValidForCreate": True,
                    "IsValidForUpdate": True,
                    "RequiredLevel": {"Value": "None"},
                }
            )
            continue
        if column.primary_key:
            kind = "Uniqueidentifier"
        elif column.name == entity_set.meta.modified_on:
            kind = "DateTime"
        elif column.name in config.lookups:
            targets = config.lookups[column.name]
            kind = "Owner" if column.name == "ownerid" else "Customer" if len(targets) > 1 else "Lookup"
        elif column.name in config.booleans:
            kind = "Boolean"
        kind = config.attribute_types.get(column.name, kind)
        attribute: dict[str, Any] = {
            "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
            "LogicalName": column.name,
            "AttributeType": kind,
            "MaxLength": column.max_length if kind == "String" else None,
            "IsPrimaryId": column.primary_key,
            "IsValidForCreate": not column.computed,
            "IsValidForUpdate": not column.computed and not column.primary_key,
            "RequiredLevel": {"Value": "None" if column.nullable or column.has_default else "ApplicationRequired"},
        }
        if column.name in config.lookups:
            attribute["Targets"] = [
                server.sets[t].logical if t in server.sets else t for t in config.lookups[column.name]
            ]
        attributes.append(attribute)
    attributes.append(
        {
            "@odata.type": "#Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "LogicalName": "modifiedby",
            "AttributeType": "Lookup",
            "MaxLength": None,
            "IsPrimaryId": False,
            "IsValidForCreate": False,
            "IsValidForUpdate": False,
            "RequiredLevel": {"Value": "None"},
            "Targets": ["systemuser"],
        }
    )
    return attributes


def _select(item: dict[str, Any], request: Request) -> dict[str, Any]:
    names = [n.strip() for n in request.query.get("$select", "").split(",") if n.strip()]
    if not names:
        return item
    unknown = [n for n in names if n not in item]
    if unknown:
        raise ODataError(400, "0x80060888", f"Could not find a property named '{unknown[0]}' on this metadata type.")
    kept = {n: item[n] for n in names}
    if "@odata.type" in item:
        kept["@odata.type"] = item["@odata.type"]
    for extra in ("Targets",):  # Dataverse returns it on lookup attributes only when cast; we return it always
        if extra in item:
            kept[extra] = item[extra]
    return kept

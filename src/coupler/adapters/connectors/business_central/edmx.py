"""Business Central's ``$metadata`` (EDMX) read into the entity sets the connector works with."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.enums import decode_name
from coupler.ports.connector import ColumnInfo

__all__ = ["parse_edmx"]

_TYPES = {
    "Edm.String": "string",
    "Edm.Int32": "integer",
    "Edm.Int64": "integer",
    "Edm.Int16": "integer",
    "Edm.Decimal": "decimal",
    "Edm.Double": "float",
    "Edm.Boolean": "boolean",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Date": "date",
    "Edm.Guid": "uuid",
}


def parse_edmx(content: bytes) -> dict[str, EntityInfo]:
    """Entity sets of an EDMX document: their key, columns, types, lengths and nullability, and which columns are
    of an ``EnumType`` (with its members' names, decoded)."""
    root = ET.fromstring(content)
    types: dict[str, tuple[str, dict[str, ColumnInfo], dict[str, str]]] = {}
    enum_types: dict[str, tuple[str, ...]] = {}
    sets: list[tuple[str, str]] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "EnumType":
            members = (m.get("Name") or "" for m in element if m.tag.rsplit("}", 1)[-1] == "Member")
            enum_types[element.get("Name") or ""] = tuple(decode_name(m) for m in members)
        elif tag == "EntityType":
            keys = {ref.get("Name") for ref in element.iter() if ref.tag.endswith("PropertyRef")}
            key = next(iter(keys), None) or "id"
            columns = {}
            typed: dict[str, str] = {}
            for prop in element:
                if not prop.tag.endswith("}Property") and prop.tag != "Property":
                    continue
                name = prop.get("Name") or ""
                edm = prop.get("Type") or "Edm.String"
                length = prop.get("MaxLength")
                if not edm.startswith("Edm."):
                    typed[name] = edm.rsplit(".", 1)[-1]  # Microsoft.NAV.customerBlocked: an enum, read below
                columns[name] = ColumnInfo(
                    name=name,
                    type=_TYPES.get(edm, "string"),  # an enum is read as its member's name
                    nullable=prop.get("Nullable", "true").lower() != "false" and name not in keys,
                    max_length=int(length) if length and length.isdigit() else None,
                    primary_key=name in keys,
                )
            types[element.get("Name") or ""] = (key, columns, typed)
        elif tag == "EntitySet":
            sets.append((element.get("Name") or "", (element.get("EntityType") or "").rsplit(".", 1)[-1]))
    entities = {}
    for set_name, type_name in sets:
        if type_name in types:
            key, columns, typed = types[type_name]
            server_keys = key == "id" and columns.get(key, ColumnInfo(name=key, type="")).type == "uuid"
            enums = {name: enum_types[t] for name, t in typed.items() if t in enum_types}
            entities[set_name] = EntityInfo(
                entity_set=set_name,
                key=key,
                columns=columns,
                type_name=type_name,
                server_keys=server_keys,
                enums=enums,
            )
    return entities

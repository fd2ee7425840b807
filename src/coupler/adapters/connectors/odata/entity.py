"""An OData entity set as the Dataverse and Business Central connectors see it: its key, columns and the JSON
properties they are read as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coupler.ports.connector import ColumnInfo

__all__ = ["EntityInfo", "Row"]

Row = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class EntityInfo:
    """One entity set as its metadata describes it. ``wire`` maps a column to its JSON property (a Dataverse lookup
    ``ownerid`` is read as ``_ownerid_value``); ``lookups`` maps a lookup column to its target entity sets;
    ``enums`` maps a column of an ``EnumType`` (Business Central's ``blocked``) to its member names as the service's
    own users know them (``(" ", "Ship", "Invoice", "All")``), not as they travel (``_x0020_``)."""

    entity_set: str
    key: str
    columns: Mapping[str, ColumnInfo]
    type_name: str = ""
    wire: Mapping[str, str] = field(default_factory=dict)
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    server_keys: bool = False  # the service assigns keys (Business Central's id): new_keys is None
    owners: frozenset[str] = frozenset()  # Dataverse owner lookups: one navigation property whatever the target
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def prop(self, column: str) -> str:
        return self.wire.get(column, column)

    def is_guid(self, column: str) -> bool:
        return self.columns[column].type == "uuid"

    def is_text(self, column: str) -> bool:
        """Free text (an enum's member names are compared exactly, never folded)."""
        return self.columns[column].type == "string" and column not in self.enums

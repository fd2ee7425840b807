"""One Dataverse entity set: property names, rows to JSON (``_x_value``, ``@odata.etag``) and JSON to rows
(``x@odata.bind``), and the Web API's error for each way a write can fail."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from coupler.testing.odata.http import ODataError
from coupler.testing.odata.store import StoreError, TableMeta
from coupler.testing.odata.tables import DataverseTable

__all__ = ["MODIFIED_BY", "VERSION", "EntitySet", "write_error"]

MODIFIED_BY = "@modifiedby"
VERSION = "@version"
_BIND = re.compile(r"^(?:.*/)?(?P<set>[A-Za-z_]\w*)\((?P<id>[0-9A-Fa-f-]{36})\)$")


class EntitySet:
    def __init__(self, name: str, config: DataverseTable, meta: TableMeta) -> None:
        self.name = name
        self.config = config
        self.meta = meta
        self.logical = config.table
        self.type_name = f"Microsoft.Dynamics.CRM.{config.table}"
        for lookup in config.lookups:
            if lookup not in meta.columns:
                raise ValueError(f"lookup {lookup!r} is not a column of {config.table!r}")
        self.navigations: dict[str, tuple[str, tuple[str, ...]]] = {}
        """Navigation property -> (lookup column, entity sets it binds); set by the server (``navigation.py``)."""
        self.type_columns = {
            lookup: f"{lookup}type"
            for lookup, targets in config.lookups.items()
            if len(targets) > 1 and f"{lookup}type" in meta.columns
        }
        """A multi-table lookup's table, kept beside it (``parentcustomeridtype``: the EntityName attribute
        Dataverse keeps for it); the Web API has no such property, only the ``lookuplogicalname`` annotation."""

    # -- names -------------------------------------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        """The column an OData property name refers to in $filter and $orderby."""
        if name.startswith("_") and name.endswith("_value") and name[1:-6] in self.config.lookups:
            return name[1:-6]
        if name in self.meta.columns and name not in self.type_columns.values():
            return name
        return None

    def resolve_select(self, name: str) -> str | None:
        if name in ("modifiedby", "_modifiedby_value"):
            return MODIFIED_BY
        if name == "versionnumber":
            return VERSION
        return self.resolve(name)

    def property_name(self, column: str) -> str:
        return f"_{column}_value" if column in self.config.lookups else column

    # -- rows to JSON ----------------------------------------------------------------------------------------
    def to_json(
        self,
        row: Mapping[str, Any],
        select: Sequence[str] | None,
        *,
        lookup_names: Callable[[str], str],
        annotations: bool = False,
        interactive_user: str,
    ) -> dict[str, Any]:
        hidden = set(self.type_columns.values())
        columns = list(select) if select else [*(c for c in self.meta.columns if c not in hidden), MODIFIED_BY, VERSION]
        if self.meta.key not in columns:
            columns.append(self.meta.key)
        entity: dict[str, Any] = {"@odata.etag": etag(row["_version"])}
        for column in columns:
            if column == MODIFIED_BY:
                entity["_modifiedby_value"] = row["_modifiedby"] or interactive_user
                if annotations:
                    entity["_modifiedby_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "systemuser"
            elif column == VERSION:
                entity["versionnumber"] = row["_version"]
            elif column in self.config.lookups:
                value = row[column]
                entity[f"_{column}_value"] = value
                if annotations and value is not None:  # only when asked (Prefer: odata.include-annotations)
                    targets = self.config.lookups[column]
                    kept = row.get(self.type_columns.get(column, ""))
                    logical = str(kept) if kept else lookup_names(targets[0])
                    entity[f"_{column}_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = logical
            elif column in self.config.booleans:
                entity[column] = None if row[column] is None else bool(row[column])
            else:
                entity[column] = row[column]
        return entity

    # -- JSON to rows ----------------------------------------------------------------------------------------
    def values(
        self, payload: Any, *, exists: Callable[[str, str], bool], logical_of: Callable[[str], str]
    ) -> dict[str, Any]:
        """The column values of a create/update body; ``exists(entity_set, id)`` checks a bound record,
        ``logical_of(entity_set)`` names its table."""
        if not isinstance(payload, dict):
            raise ODataError(400, "0x80048d19", f"The body for {self.name} must be a JSON object.")
        values: dict[str, Any] = {}
        for name, value in payload.items():
            if name.endswith("@odata.bind"):
                column, target_set, target = self._bind(name[: -len("@odata.bind")], value, exists)
                values[column] = target
                if column in self.type_columns:
                    values[self.type_columns[column]] = None if target is None else logical_of(target_set)
            elif name.startswith("@odata.") or "@" in name:
                continue
            elif name in self.config.lookups or (name.startswith("_") and name.endswith("_value")):
                raise ODataError(
                    400,
                    "0x80060888",
                    f"'{name}' is a lookup of {self.type_name}: write it as "
                    f'"{name.strip("_").removesuffix("_value")}@odata.bind": "/<entityset>(<id>)".',
                )
            elif name in self.config.booleans:
                if value is not None and not isinstance(value, bool):
                    raise ODataError(
                        400, "0x80048d19", f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'."
                    )
                values[name] = None if value is None else int(value)
            elif name in self.meta.columns and name not in self.type_columns.values():
                values[name] = value
            else:
                raise ODataError(
                    400,
                    "0x80060888",
                    f"The property '{name}' does not exist on type '{self.type_name}'. "
                    "Make sure to only use property names that are defined by the type.",
                )
        return values

    def _bind(self, name: str, value: Any, exists: Callable[[str, str], bool]) -> tuple[str, str, str | None]:
        """(lookup column, bound entity set, id) of ``<name>@odata.bind``. The name must be a navigation property,
        exactly (learn.microsoft.com/power-apps/developer/data-platform/webapi/web-api-navigation-properties: "This
        value is case sensitive"); a wrong one gets the Web API's OData error, as reported in
        microsoft/PowerPlatform-DataverseClient-Python PR #137 for a lowercased ``new_CustomerId``."""
        found = self.navigations.get(name)
        if found is None:
            raise ODataError(
                400,
                "0x80060888",
                f"An undeclared property '{name}' which only has property annotations in the payload but no property "
                "value was found in the payload. In OData, only declared navigation properties and declared named "
                "streams can be represented as properties without values.",
            )
        column, targets = found
        if value is None:
            return column, targets[0], None
        match = _BIND.match(str(value))
        if match is None:
            raise ODataError(400, "0x80060888", f"'{value}' for {name}@odata.bind is not like /<entityset>(<id>).")
        target_set, target_id = match.group("set"), match.group("id").lower()
        if target_set not in targets:
            raise ODataError(
                400,
                "0x80060888",
                f"{name}@odata.bind names {target_set}; {name} refers to {', '.join(targets)}.",
            )
        if not exists(target_set, target_id):
            raise ODataError(404, "0x80040217", f"{target_set.removesuffix('s')} With Id = {target_id} Does Not Exist")
        return column, target_set, target_id


def etag(version: int) -> str:
    return f'W/"{version}"'


def write_error(error: StoreError, logical: str) -> ODataError:
    if error.kind == "too-long":
        return ODataError(
            400,
            "0x80044331",
            f"A validation error occurred. The length of the '{error.column}' attribute of the '{logical}' entity "
            f"exceeded the maximum allowed length of '{error.limit}'.",
        )
    if error.kind == "duplicate":
        return ODataError(412, "0x80040237", "A record with matching key values already exists.")
    if error.kind == "unknown-column":
        return ODataError(
            400,
            "0x80060888",
            f"The property '{error.column}' does not exist on type 'Microsoft.Dynamics.CRM.{logical}'.",
        )
    if error.kind == "type":
        return ODataError(400, "0x80048d19", f"Error identified in Payload provided by the user: {error.message}")
    if error.kind == "not-null":
        return ODataError(400, "0x80040203", f"A validation error occurred. {error.message}")
    return ODataError(400, "0x80044331", f"A validation error occurred. {error.message}")

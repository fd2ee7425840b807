"""The REST API's changes to a table mapping (written to coupler.toml): a field mapping's switch, direction, caption
and match priority; the tables' captions and filters."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from coupler.domain.mapping import Direction, Operator
from coupler.entrypoints.schemas.base import Out
from coupler.entrypoints.schemas.mappings import MappingDetailOut
from coupler.entrypoints.web.schemas.common import StrictIn

__all__ = ["ConditionIn", "FieldChangeIn", "MappingChangedOut", "TableChangeIn"]

Caption = Annotated[str, StringConstraints(max_length=200)]


class FieldChangeIn(StrictIn):
    enabled: bool | None = Field(default=None, description="Switch the field mapping on or off.")
    direction: Direction | None = Field(default=None, description="Which way the field flows.")
    caption: Caption | None = Field(default=None, description='What a user calls the field; "" removes it.')
    match: int | None = Field(
        default=None, ge=0, le=99, description="Its match-based coupling priority (1 first); 0 takes it out."
    )


class ConditionIn(StrictIn):
    field: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(description="The column.")
    op: Operator = Operator.EQ
    value: Any = Field(default=None, description="A text, number or boolean; a list for in and not_in.")
    or_null: bool = Field(default=False, description="With in: records whose field is empty (null) are in too.")


class TableChangeIn(StrictIn):
    local_caption: Caption | None = Field(default=None, description='The local table\'s caption; "" removes it.')
    integration_caption: Caption | None = Field(default=None, description="The integration table's caption.")
    local_filter: list[ConditionIn] | None = Field(
        default=None, max_length=50, description="The local table's whole filter ([] for none)."
    )
    integration_filter: list[ConditionIn] | None = Field(
        default=None, max_length=50, description="The integration table's whole filter ([] for none)."
    )


class MappingChangedOut(Out):
    changed: list[str] = Field(description="What changed, one line per setting, in the systems' names.")
    backup: str = Field(description="The file the previous configuration is kept in.")
    mapping: MappingDetailOut

"""The base of every response model, and the JSON form of times and record values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from coupler.domain.timeutil import format_iso

__all__ = ["Out", "Time", "Value"]


def _value(value: Any) -> Any:
    return format_iso(value) if isinstance(value, datetime) else value


Time = Annotated[
    datetime,
    PlainSerializer(format_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A time in JSON: ISO 8601 in UTC with milliseconds and a ``Z``, the form Business Central and Dataverse use."""

Value = Annotated[Any, PlainSerializer(_value, when_used="json")]
"""A record's value in JSON: times as ``Time``, the rest as JSON has it (decimals as text)."""


class Out(BaseModel):
    """A result as JSON: validated from a domain or service value's attributes (``model_validate(value)``), so a
    model whose fields are the value's own names needs no copying by hand."""

    model_config = ConfigDict(from_attributes=True)

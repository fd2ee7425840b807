"""A table filter's condition as a user writes it, and as coupler.toml keeps it (``{ field, op, value }``).

A value is read as TOML reads a value (``0``, ``1.5``, ``true``, ``"30"``), else as the text it is; ``in`` and
``not_in`` take values separated by commas, ``(empty)`` among those of ``in`` for an empty (null) field.
``FIELD=VALUE``, ``FIELD!=VALUE``, ``FIELD<VALUE`` ... or ``FIELD OP VALUE`` with an operator's name
(``name startswith A``, ``code is_null``) is one condition in a line.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from coupler.domain.errors import UsageError
from coupler.domain.mapping import Operator

__all__ = ["EMPTY", "OPERATOR_WORDS", "condition", "parse_condition", "shown_value"]

EMPTY = "(empty)"
"""In the values of ``in``: records whose field is empty (null) are in too (``or_null = true``)."""

OPERATOR_WORDS = {
    Operator.EQ: "is",
    Operator.NE: "is not",
    Operator.LT: "is less than",
    Operator.LE: "is at most",
    Operator.GT: "is more than",
    Operator.GE: "is at least",
    Operator.IN: "is one of",
    Operator.NOT_IN: "is none of",
    Operator.IS_NULL: "is empty",
    Operator.NOT_NULL: "is not empty",
    Operator.STARTSWITH: "starts with",
    Operator.CONTAINS: "contains",
}
"""How a user reads an operator."""

_SIGNS = {"=": Operator.EQ, "!=": Operator.NE, "<": Operator.LT, "<=": Operator.LE, ">": Operator.GT, ">=": Operator.GE}
_LINE = re.compile(r"^\s*(?P<field>[^\s=!<>]+)\s*(?P<sign>!=|<=|>=|=|<|>)\s*(?P<value>.*?)\s*$")
_WORDS = re.compile(r"^\s*(?P<field>[^\s=!<>]+)\s+(?P<op>[a-z_]+)(?:\s+(?P<value>.*?))?\s*$")
_NO_VALUE = (Operator.IS_NULL, Operator.NOT_NULL)
_LISTS = (Operator.IN, Operator.NOT_IN)


def condition(field: str, op: Operator | str, text: str, *, caption: str | None = None) -> dict[str, Any]:
    """The condition ``field op text`` as coupler.toml writes it; a UsageError naming the field (by ``caption``)
    when the value does not fit the operator."""
    operator = _operator(op)
    name = caption or field
    if not field.strip():
        raise UsageError("A filter condition needs a field.")
    written: dict[str, Any] = {"field": field.strip(), "op": operator.value}
    if operator in _NO_VALUE:
        return written
    if operator in _LISTS:
        parts = _split(text)
        values = [_value(part) for part in parts if part != EMPTY]
        if EMPTY in parts and operator is not Operator.IN:
            raise UsageError(f"{name}: {EMPTY} goes with {OPERATOR_WORDS[Operator.IN]!r} only.")
        if not parts:
            raise UsageError(f"{name}: {OPERATOR_WORDS[operator]} needs values separated by commas, like 1, 2.")
        written["value"] = values
        if EMPTY in parts:
            written["or_null"] = True
        return written
    value = _value(text)
    if operator not in (Operator.EQ, Operator.NE) and value == "":
        raise UsageError(f"{name}: {OPERATOR_WORDS[operator]} needs a value.")
    written["value"] = value
    return written


def parse_condition(line: str) -> dict[str, Any]:
    """``FIELD=VALUE`` (or ``!=``, ``<``, ``<=``, ``>``, ``>=``) or ``FIELD OP [VALUE]`` as a condition."""
    signed = _LINE.match(line)
    if signed:
        return condition(signed["field"], _SIGNS[signed["sign"]], signed["value"])
    worded = _WORDS.match(line)
    if worded:
        return condition(worded["field"], worded["op"], worded["value"] or "")
    raise UsageError(
        f"{line!r} is not a filter condition: write FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE ... or FIELD OP VALUE "
        f"with OP one of {', '.join(o.value for o in Operator)}."
    )


def shown_value(value: Any) -> str:
    """A condition's value as a user edits it: what ``condition`` reads back as the same value."""
    if isinstance(value, list):
        return ", ".join(EMPTY if v is None else shown_value(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value if _value(value) == value and "," not in value else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _operator(op: Operator | str) -> Operator:
    try:
        return Operator(op)
    except ValueError:
        known = ", ".join(o.value for o in Operator)
        raise UsageError(f"{op!r} is not a filter operator; use one of {known}.") from None


def _split(text: str) -> list[str]:
    """Comma-separated values; a quoted value may hold a comma."""
    return [p.strip() for p in re.findall(r'\s*("(?:[^"\\]|\\.)*"|[^,]+)', text) if p.strip()]


def _value(text: str) -> Any:
    """``text`` as TOML reads a value, else the text itself."""
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        value = tomllib.loads(f"v = {stripped}")["v"]
    except tomllib.TOMLDecodeError:
        return stripped
    return value if isinstance(value, str | int | float | bool) else stripped

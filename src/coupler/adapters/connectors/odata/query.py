"""OData v4 text both service connectors build: literals, key segments and ``$filter`` expressions.

A ``$filter`` built here is a pre-filter: it never drops a record the structured filter keeps. The connectors then
apply ``Condition.matches`` to what comes back, so the meaning is exactly the in-memory connector's whatever the
service's collation or NULL handling (Dataverse compares text case-insensitively; SQL drops NULLs from ``ne``).

A service without null (Business Central: AL fields have none, a blank value stands for it) gets no ``null`` in a
``$filter``: ``with_blank`` first puts the column's blank value in place of null where one is known, and
``condition_filter(..., nulls=False)`` leaves whatever still needs null to the client-side check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Condition, Operator
from coupler.domain.timeutil import format_iso

__all__ = [
    "and_all",
    "condition_filter",
    "is_guid",
    "key_chunks",
    "key_segment",
    "literal",
    "or_equal",
    "with_blank",
]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NOTHING = "(1 eq 0)"
_ORDERED = frozenset({Operator.NE, Operator.LT, Operator.LE, Operator.GT, Operator.GE})


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def literal(value: Any, *, guid: bool = False) -> str:
    """``value`` as an OData literal: 'text' (quotes doubled), numbers, true/false, null, DateTimeOffset, and a
    GUID unquoted when ``guid`` (the column is a GUID: Edm.Guid, a Dataverse key or lookup)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_iso(value)
    text = str(value)
    if guid and is_guid(text):
        return text
    return "'" + text.replace("'", "''") + "'"


_literal = literal


def key_segment(key: str, *, guid: bool, name: str) -> str:
    """The parenthesised part of an entity URL: ``(<guid>)``, or ``(name='text')`` for a text key (the named form
    every OData service reads, also where only GUIDs may stand alone)."""
    if guid and is_guid(key):
        return f"({key})"
    return f"({name}={literal(key)})"


def or_equal(field: str, values: Sequence[Any], *, fold: bool = False, guid: bool = False) -> str:
    """``(field eq v1 or field eq v2 ...)``; ``fold`` compares ``tolower(field)`` with lower-cased text."""
    if not values:
        return _NOTHING
    target = f"tolower({field})" if fold else field
    terms = [f"{target} eq {literal(v.lower() if fold and isinstance(v, str) else v, guid=guid)}" for v in values]
    return "(" + " or ".join(terms) + ")"


def key_chunks(values: Sequence[Any], *, max_length: int) -> Iterator[list[Any]]:
    """``values`` in chunks whose ``or`` chain stays under ``max_length`` characters (URLs have limits)."""
    chunk: list[Any] = []
    length = 0
    for value in values:
        size = len(str(value)) + 40
        if chunk and length + size > max_length:
            yield chunk
            chunk, length = [], 0
        chunk.append(value)
        length += size
    if chunk:
        yield chunk


def and_all(parts: Sequence[str]) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    return " and ".join(present) if len(present) == 1 else " and ".join(f"({p})" for p in present)


def with_blank(condition: Condition, blank: Any) -> Condition:
    """``condition`` on a column whose "no value" is ``blank`` ('' for a Business Central text): every null it tests
    becomes ``blank`` (``is_null`` -> ``eq blank``). With ``blank`` None the condition is returned as it is."""
    if blank is None:
        return condition
    op, value = condition.op, condition.value
    if op is Operator.IS_NULL or (op is Operator.EQ and value is None):
        return replace(condition, op=Operator.EQ, value=blank)
    if op is Operator.NOT_NULL or (op is Operator.NE and value is None):
        return replace(condition, op=Operator.NE, value=blank)
    if op in (Operator.IN, Operator.NOT_IN) and isinstance(value, list | tuple | set | frozenset) and None in value:
        return replace(condition, value=[blank if v is None else v for v in value])
    return condition


def condition_filter(condition: Condition, *, fold_text: bool = False, guid: bool = False, nulls: bool = True) -> str:
    """A pre-filter for one condition (see the module docstring); "" when the service cannot pre-filter it.
    ``fold_text``: the service compares text case-insensitively, so case-sensitive tests are left to the client;
    ``guid``: the column holds GUIDs; ``nulls``: the service has null and compares with it (without, a term that
    needs ``null`` is left to the client, and ``ne`` needs no ``or eq null``)."""
    field, op, value = condition.field, condition.op, condition.value

    def literal(value: Any) -> str:
        return _literal(value, guid=guid)

    if fold_text and isinstance(value, str) and op in _ORDERED:
        return ""  # "ne 'x'" or "lt 'x'" under a case-insensitive collation would drop records: the client decides
    if op is Operator.IS_NULL or (op is Operator.EQ and value is None):
        return f"{field} eq null" if nulls else ""
    if op is Operator.NOT_NULL or (op is Operator.NE and value is None):
        return f"{field} ne null" if nulls else ""
    if op is Operator.EQ:
        return f"{field} eq {literal(value)}"
    if op is Operator.NE:
        return f"({field} ne {literal(value)} or {field} eq null)" if nulls else f"{field} ne {literal(value)}"
    if op in (Operator.LT, Operator.LE, Operator.GT, Operator.GE):
        return f"{field} {op.value} {literal(value)}"
    if op in (Operator.IN, Operator.NOT_IN):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
            raise ConfigurationError(f"the 'in' and 'not_in' filter operators need a list of values, not {value!r}")
        values = list(value)
        present = [v for v in values if v is not None]
        if op is Operator.IN:
            if None in values and not nulls:
                return ""  # "or eq null" cannot be said: the client decides
            terms = [f"{field} eq {literal(v)}" for v in present] + ([f"{field} eq null"] if None in values else [])
            return "(" + " or ".join(terms) + ")" if terms else _NOTHING
        if fold_text and any(isinstance(v, str) for v in present):
            return f"{field} ne null" if None in values and nulls else ""  # "ne 'x'" would drop other cases
        terms = [f"{field} ne {literal(v)}" for v in present]
        if not nulls:  # no record is null: "ne" alone keeps every record the condition keeps
            return "(" + " and ".join(terms) + ")" if terms else ""
        if None in values:
            return " and ".join([*terms, f"{field} ne null"])
        return f"(({' and '.join(terms)}) or {field} eq null)" if terms else ""
    if op is Operator.STARTSWITH:
        return f"startswith({field},{_literal(str(value))})"
    if op is Operator.CONTAINS:
        return f"contains({field},{_literal(str(value))})"
    raise ConfigurationError(f"unsupported filter operator {op!r}")  # pragma: no cover - every Operator is handled

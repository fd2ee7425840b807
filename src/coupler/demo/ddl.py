"""Building blocks of the demo schemas: GUID keys, modified-on columns, checks and number series.

Each demo table carries what its triggers need in ``Table.info``: ``key``, ``modified_on`` and optionally
``fill_on_insert`` (column -> SQL expression evaluated after an insert that left the column NULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Table, Text, text

__all__ = [
    "GUID_SQL",
    "NOW_SQL",
    "add_length_checks",
    "email_check",
    "key_column",
    "max_length",
    "modified_on_column",
    "modified_on_index",
    "non_empty",
    "number_series",
    "one_of",
    "quote",
    "search_indexes",
    "text_column",
]

NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
"""UTC ISO 8601 with milliseconds, the form Business Central and Dataverse return. Within one statement
SQLite returns the same 'now' to every call, which the triggers rely on."""

GUID_SQL = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || "
    "substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)
"""A random (version 4) GUID in lower case, so a row inserted without its key still gets one."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def key_column(name: str) -> Column[str]:
    return Column(name, Text, primary_key=True, server_default=text(GUID_SQL))


def modified_on_column(name: str) -> Column[str]:
    """Filled by the triggers on every write; nullable only so that a program writing NULL is overruled by the
    trigger rather than rejected."""
    return Column(name, Text, server_default=text(NOW_SQL))


def modified_on_index(table: str, modified_on: str, key: str) -> Index:
    return Index(f"ix_{table}_{modified_on}", modified_on, key)


def search_indexes(table: Table, *columns: str) -> None:
    """Indexes for the records list's search and the Set up coupling lookup on ``columns``: one in SQLite's NOCASE
    collation (a search whatever the letter case; SQLite folds ASCII letters, as its ``lower`` does) and one in the
    column's own (a prefix in its own case). Without them a search of 1,000,000 rows reads every row."""
    for name in columns:
        Index(f"ix_{table.name}_{name}_nocase", table.c[name].collate("NOCASE"))
        led = any(index.expressions and index.expressions[0] is table.c[name] for index in table.indexes)
        if not (table.c[name].unique or led):  # else an index that starts with the column serves already
            Index(f"ix_{table.name}_{name}", table.c[name])


def text_column(name: str, length: int, **kwargs: Any) -> Column[str]:
    """A text column of at most ``length`` characters (the check is added by ``add_length_checks``)."""
    return Column(name, Text, info={"max_length": length}, **kwargs)


def add_length_checks(table: Table) -> Table:
    for column in table.columns:
        length = column.info.get("max_length")
        if length is not None and column.computed is None:
            table.append_constraint(max_length(table.name, column.name, length))
    return table


def max_length(table: str, column: str, length: int) -> CheckConstraint:
    return CheckConstraint(
        f"{quote(column)} IS NULL OR length({quote(column)}) <= {length}", name=f"ck_{table}_{column}_length"
    )


def non_empty(table: str, column: str, length: int) -> CheckConstraint:
    """A required text: present, not blank, at most ``length`` characters."""
    col = quote(column)
    return CheckConstraint(
        f"length(trim({col})) > 0 AND length({col}) <= {length}", name=f"ck_{table}_{column}_required"
    )


def email_check(table: str, column: str) -> CheckConstraint:
    """Empty, or something like ``name@domain.tld`` (as both systems validate an e-mail address)."""
    col = quote(column)
    return CheckConstraint(
        f"{col} IS NULL OR {col} = '' OR ({col} LIKE '%_@_%.%' AND {col} NOT LIKE '% %')",
        name=f"ck_{table}_{column}_email",
    )


def one_of(table: str, column: str, values: Sequence[str | int], *, nullable: bool = False) -> CheckConstraint:
    col = quote(column)
    allowed = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)
    condition = f"{col} IN ({allowed})"
    if nullable:
        condition = f"{col} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"ck_{table}_{column}_values")


def number_series(table: Table | str, column: str, prefix: str, width: int, step: int) -> str:
    """The next number of a Business Central-like number series (``C00010``, ``C00020`` ...) for ``column``."""
    name = table if isinstance(table, str) else table.name
    col = quote(column)
    pattern = prefix + "[0-9]" * width
    highest = (
        f"(SELECT max(CAST(substr(s.{col}, {len(prefix) + 1}) AS INTEGER)) FROM {quote(name)} AS s "
        f"WHERE s.{col} GLOB '{pattern}')"
    )
    return f"printf('{prefix}%0{width}d', coalesce({highest}, 0) + {step})"

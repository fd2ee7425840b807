"""Structured table filters (``TableSpec.filter``) as SQLAlchemy Core expressions.

The SQL meaning follows ``Condition.matches`` (the meaning the in-memory connector uses), including NULLs:
``ne`` and ``not_in`` keep rows whose column is NULL, ordering comparisons and text tests never match NULL, and
``startswith`` / ``contains`` are case-sensitive on every database (SQLite's LIKE is not, so SQLite uses ``substr``
and ``instr``). Values are always bound parameters; no SQL text is built from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import Condition, Operator

__all__ = ["column_of", "condition_clause", "filter_clause", "prefix_clause"]

Clause = ColumnElement[bool]


def column_of(table: sa.Table, name: str, *, table_name: str | None = None) -> sa.Column[object]:
    """The column ``name`` of ``table``; ConfigurationError naming the table and column when there is none."""
    column = table.columns.get(name)
    if column is None:
        raise ConfigurationError(f"table {table_name or table.name!r} has no column {name!r}")
    return column


def filter_clause(
    table: sa.Table, conditions: Iterable[Condition], *, dialect: str, table_name: str | None = None
) -> Clause:
    """All ``conditions`` as one expression (``true()`` when there are none)."""
    clauses = [condition_clause(table, c, dialect=dialect, table_name=table_name) for c in conditions]
    return sa.and_(sa.true(), *clauses)


def condition_clause(table: sa.Table, condition: Condition, *, dialect: str, table_name: str | None = None) -> Clause:
    column = column_of(table, condition.field, table_name=table_name)
    build = _BUILDERS.get(condition.op)
    if build is None:  # pragma: no cover - every Operator has a builder
        raise ConfigurationError(f"unsupported filter operator {condition.op!r}")
    return build(column, condition.value, dialect)


def prefix_clause(
    table: sa.Table,
    fields: Iterable[str],
    text: str,
    *,
    table_name: str | None = None,
    dialect: str = "",
    ranged: bool = True,
) -> Clause:
    """Any of ``fields`` starts with ``text``, whatever the letter case: ``lower(field) LIKE lower(text) || '%'``
    (escaped), ``OR``-ed. Both sides go through the database's own ``lower``, so they fold alike (PostgreSQL by its
    locale); NULL never matches. SQLite's LIKE folds ASCII letters itself, as its ``lower`` does (and nothing else,
    unless ICU replaces both), so there it is ``field LIKE text || '%'``: the same matches without two calls of
    ``lower`` per row read, which a sorted page that reads its order's index and tests each row pays for (a third
    of a second at 1,000,000 rows). SQLite never uses an index for a LIKE that is not case-sensitive: the same
    prefix is also stated as a range in the NOCASE collation (``_prefix_range``; NOCASE folds ASCII letters too),
    which an index on ``field COLLATE NOCASE`` serves (the demo has them; a search of 1,000,000 rows then reads only
    the matches); ``ranged=False`` leaves it out and tests ``field || ''``, so that no such index is chosen, not even
    by SQLite's own LIKE optimisation (a query that reads another index in order and tests each row)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    literal = sa.literal(escaped + "%", sa.String)
    pattern = literal if dialect == "sqlite" else sa.func.lower(literal)
    columns = [column_of(table, name, table_name=table_name) for name in fields]
    clauses: list[Clause] = []
    for column in columns:
        value = _as_text(column) if dialect == "sqlite" else sa.func.lower(_as_text(column))
        if dialect == "sqlite" and not ranged:  # ``field || ''``: SQLite's LIKE optimisation picks no index either
            value = value.concat(sa.literal("", sa.String))
        clause: Clause = value.like(pattern, escape="\\")
        if dialect == "sqlite" and text and ranged:
            clause = sa.and_(clause, _prefix_range(sa.collate(_as_text(column), "NOCASE"), sa.literal(text, sa.String)))
        clauses.append(clause)
    return sa.or_(sa.false(), *clauses)


def _prefix_range(value: ColumnElement[str], prefix: ColumnElement[str]) -> Clause:
    """``prefix <= value < prefix || U+10FFFF``: in SQLite's collations (UTF-8 bytes compared; NOCASE after
    folding ASCII letters), every text that starts with ``prefix``, and an index on ``value`` in that collation
    serves it. Added beside an exact test (LIKE, ``substr``), never instead of it: it only lets the index narrow
    the rows."""
    return sa.and_(value >= prefix, value < prefix.concat(sa.func.char(0x10FFFF)))


def _as_text(column: sa.Column[object]) -> ColumnElement[str]:
    if isinstance(column.type, sa.String):
        return column  # type: ignore[return-value]
    return sa.cast(column, sa.String)


def _eq(column: sa.Column[object], value: object, dialect: str) -> Clause:
    return column.is_(None) if value is None else column == value


def _ne(column: sa.Column[object], value: object, dialect: str) -> Clause:
    return column.is_not(None) if value is None else column.is_distinct_from(value)


def _in(column: sa.Column[object], value: object, dialect: str) -> Clause:
    values = list(_sequence(value))
    present = [v for v in values if v is not None]
    clause: Clause = column.in_(present)
    return sa.or_(clause, column.is_(None)) if len(present) < len(values) else clause


def _not_in(column: sa.Column[object], value: object, dialect: str) -> Clause:
    values = list(_sequence(value))
    present = [v for v in values if v is not None]
    clause: Clause = column.not_in(present)
    return clause if len(present) < len(values) else sa.or_(clause, column.is_(None))


def _startswith(column: sa.Column[object], value: object, dialect: str) -> Clause:
    text = str(value)
    if dialect == "sqlite":
        value = _as_text(column)
        exact = sa.func.substr(value, 1, len(text)) == text
        return sa.and_(exact, _prefix_range(value, sa.literal(text, sa.String))) if text else exact
    return _as_text(column).startswith(text, autoescape=True)


def _contains(column: sa.Column[object], value: object, dialect: str) -> Clause:
    text = str(value)
    if dialect == "sqlite":
        return sa.func.instr(_as_text(column), text) > 0
    return _as_text(column).contains(text, autoescape=True)


def _sequence(value: object) -> Iterable[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(f"the 'in' and 'not_in' filter operators need a list of values, not {value!r}")
    return value


_BUILDERS: dict[Operator, Callable[[sa.Column[object], object, str], Clause]] = {
    Operator.EQ: _eq,
    Operator.NE: _ne,
    Operator.LT: lambda column, value, _: column < value,
    Operator.LE: lambda column, value, _: column <= value,
    Operator.GT: lambda column, value, _: column > value,
    Operator.GE: lambda column, value, _: column >= value,
    Operator.IN: _in,
    Operator.NOT_IN: _not_in,
    Operator.IS_NULL: lambda column, _value, _dialect: column.is_(None),
    Operator.NOT_NULL: lambda column, _value, _dialect: column.is_not(None),
    Operator.STARTSWITH: _startswith,
    Operator.CONTAINS: _contains,
}

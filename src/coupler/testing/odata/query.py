"""OData query options over a reflected table: ``$select``, ``$filter`` (parsed by odata-query), ``$orderby``,
``$top``, and server-driven paging with a keyset paging cookie carried in ``$skiptoken``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from odata_query import ast
from odata_query import exceptions as odata_errors
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.sqlalchemy.core import AstToSqlAlchemyCoreVisitor

from coupler.testing.odata.http import ODataError
from coupler.testing.odata.store import Store, format_timestamp

__all__ = ["Query", "decode_cookie", "encode_cookie", "fetch_page", "parse_query"]

Resolve = Callable[[str], str | None]
"""An OData property name -> the column it names (None when there is no such property)."""

Rewrite = Callable[[ast._Node], ast._Node]
"""A pass over a parsed ``$filter`` before it becomes SQL (Business Central's translates enum literals and refuses
null); it raises ``ODataError`` for what the service refuses."""


@dataclass(frozen=True, kw_only=True)
class Query:
    select: tuple[str, ...] | None
    where: sa.ColumnElement[bool] | None
    order: tuple[tuple[str, bool], ...]
    """(column, descending) pairs."""
    top: int | None


class _Visitor(AstToSqlAlchemyCoreVisitor):
    def __init__(self, table: sa.Table, resolve: Resolve, entity: str, nocase: bool) -> None:
        super().__init__(table)  # type: ignore[arg-type]  # odata-query annotates a Table class, uses an instance
        self._table = table
        self._resolve = resolve
        self._entity = entity
        self._nocase = nocase

    def visit_Identifier(self, node: ast.Identifier) -> Any:
        column = self._resolve(node.name)
        if column is None:
            raise ODataError(
                400, "0x80060888", f"Could not find a property named '{node.name}' on type '{self._entity}'."
            )
        expression = self._table.c[column]
        if self._nocase and isinstance(expression.type, sa.String):
            return expression.collate("NOCASE")
        return expression

    def visit_DateTime(self, node: ast.DateTime) -> Any:
        try:
            return sa.literal(format_timestamp(node.py_val))
        except ValueError:
            raise ODataError(400, "0x80060888", f"'{node.val}' is not a valid date and time.") from None

    def visit_GUID(self, node: ast.GUID) -> Any:
        return sa.literal(node.val.lower())


def parse_query(
    options: Mapping[str, str],
    table: sa.Table,
    *,
    resolve: Resolve,
    resolve_select: Resolve | None = None,
    entity: str,
    nocase: bool = False,
    rewrite: Rewrite | None = None,
) -> Query:
    """The query options of a collection request. Unknown properties and syntax errors are 400s naming them.
    ``resolve_select`` may name more than ``resolve`` (virtual properties the server adds to each row)."""
    select = None
    if options.get("$select"):
        names = (name.strip() for name in options["$select"].split(","))
        select = tuple(dict.fromkeys(_column(resolve_select or resolve, name, entity) for name in names))
    where = None
    if options.get("$filter"):
        where = _filter(options["$filter"], table, resolve, entity, nocase, rewrite)
    order: list[tuple[str, bool]] = []
    for item in filter(None, (part.strip() for part in options.get("$orderby", "").split(","))):
        name, _, direction = item.partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise ODataError(400, "0x80060888", f"$orderby: '{direction}' is neither asc nor desc.")
        order.append((_column(resolve, name, entity), direction == "desc"))
    top = None
    if options.get("$top"):
        try:
            top = int(options["$top"])
        except ValueError:
            raise ODataError(400, "0x80060888", f"$top must be an integer, not '{options['$top']}'.") from None
        if top < 0:
            raise ODataError(400, "0x80060888", "$top must not be negative.")
    return Query(select=select, where=where, order=tuple(order), top=top)


def _column(resolve: Resolve, name: str, entity: str) -> str:
    column = resolve(name)
    if column is None:
        raise ODataError(400, "0x80060888", f"Could not find a property named '{name}' on type '{entity}'.")
    return column


def _filter(
    text: str, table: sa.Table, resolve: Resolve, entity: str, nocase: bool, rewrite: Rewrite | None
) -> sa.ColumnElement[bool]:
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
        if rewrite is not None:
            tree = rewrite(tree)
        clause: sa.ColumnElement[bool] = _Visitor(table, resolve, entity, nocase).visit(tree)
    except ODataError:
        raise
    except (odata_errors.ODataException, NotImplementedError, TypeError, ValueError) as exc:
        detail = str(exc) or type(exc).__name__
        raise ODataError(400, "0x80060888", f"$filter '{text}' is not valid: {detail}") from None
    return clause


def fetch_page(
    conn: sa.Connection,
    store: Store,
    name: str,
    query: Query,
    *,
    size: int,
    after: Sequence[Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page of rows in the query's order (then by key), after the row whose sort values are ``after``;
    the sort values of its last row when more rows follow, else None."""
    meta = store.tables[name]
    keys = [(meta.table.c[column], desc) for column, desc in query.order]
    if meta.key not in {column for column, _ in query.order}:
        keys.append((meta.table.c[meta.key], False))
    statement = store.select(name)
    if query.where is not None:
        statement = statement.where(query.where)
    if after is not None:
        if len(after) != len(keys):
            raise ODataError(400, "0x80060888", "The $skiptoken does not belong to this query.")
        statement = statement.where(_after(keys, after))
    statement = statement.order_by(*(column.desc() if desc else column.asc() for column, desc in keys))
    rows = [dict(row) for row in conn.execute(statement.limit(size + 1)).mappings()]
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, [rows[-1][column.name] for column, _ in keys]


def _after(keys: Sequence[tuple[sa.Column[Any], bool]], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows sorting after ``values`` (SQLite sorts NULLs first ascending, last descending)."""
    branches = []
    for index, ((column, desc), value) in enumerate(zip(keys, values, strict=True)):
        equal = [c.is_(None) if v is None else c == v for (c, _), v in zip(keys[:index], values[:index], strict=True)]
        if not desc:
            beyond = column.is_not(None) if value is None else column > value
        else:
            beyond = sa.false() if value is None else sa.or_(column < value, column.is_(None))
        branches.append(sa.and_(*equal, beyond))
    return sa.or_(*branches)


def encode_cookie(payload: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cookie(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(text.encode()))
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ODataError(400, "0x80060888", "The $skiptoken is not a paging cookie this server issued.")
    return payload

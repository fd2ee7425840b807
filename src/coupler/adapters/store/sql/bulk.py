"""Batch statements: on the couplings table, and upserts and deletes by primary key on any table. In general one
executemany; on PostgreSQL one statement per batch whatever its size, the values sent as one array per column
(``unnest``) or, for the couplings, as one JSON document (``json_to_recordset``), which is several times faster than
executemany's row-by-row round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Insert,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.types import ARRAY, JSON, TypeDecorator, TypeEngine

from coupler.adapters.store.sql import schema
from coupler.adapters.store.sql.rows import COUPLING_FIELDS, coupling_from_row, coupling_values
from coupler.domain.coupling import Coupling

__all__ = [
    "CHUNK",
    "chunks",
    "delete_rows",
    "insert_couplings",
    "key_in",
    "select_couplings",
    "update_couplings",
    "upsert_insert",
    "upsert_row",
    "upsert_rows",
]

CHUNK = 500
"""Keys per ``IN (...)`` query."""

_C = schema.couplings.c
_IDENTITY = ("mapping", "local_key")
_CHANGED = tuple(name for name in COUPLING_FIELDS if name not in _IDENTITY)

_UPDATE = update(schema.couplings).where(_C.mapping == bindparam("b_mapping"), _C.local_key == bindparam("b_local_key"))


def _array_type(column_type: TypeEngine[Any]) -> ARRAY[Any]:
    if isinstance(column_type, String):
        return ARRAY(Text())
    return ARRAY(column_type)


def _unnest(table: Table, names: Sequence[str]) -> Any:
    """``unnest(:a_name, ...) AS v(name, ...)``: one array parameter per column."""
    arrays = [cast(bindparam(f"a_{name}"), _array_type(table.c[name].type)) for name in names]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="v")


def _recordset(table: Table, names: Sequence[str]) -> Any:
    """``json_to_recordset(:rows) AS v(name type, ...)``: the rows as one JSON parameter (see ``_json_rows``). Text
    arrays would cost psycopg a regular-expression escape per value, several times the statement itself."""
    columns = [column(name, _record_type(table.c[name].type)) for name in names]
    rows = cast(bindparam("rows", type_=Text()), JSON())
    return func.json_to_recordset(rows).table_valued(*columns).render_derived(name="v", with_types=True)


def _record_type(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    if isinstance(column_type, String):
        return Text()
    if isinstance(column_type, TypeDecorator):
        return column_type.impl_instance
    return column_type


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json_rows(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The parameter of ``_recordset``: date-times as ISO 8601 with their offset (naive ones are UTC)."""
    return {"rows": _JSON.encode([{name: _json_value(value) for name, value in row.items()} for row in rows])}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
    return value


_V = _recordset(schema.couplings, COUPLING_FIELDS)
_PG_INSERT = insert(schema.couplings).from_select(COUPLING_FIELDS, select(_V))
_PG_UPDATE = (
    update(schema.couplings)
    .where(_C.mapping == _V.c.mapping, _C.local_key == _V.c.local_key)
    .values({name: _V.c[name] for name in _CHANGED})
)


def _is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _columns(couplings: Sequence[Coupling]) -> dict[str, str]:
    return _json_rows([coupling_values(c) for c in couplings])


def _arrays(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    return {f"a_{name}": [row[name] for row in rows] for name in names}


def insert_couplings(conn: Connection, couplings: Sequence[Coupling]) -> None:
    if _is_postgresql(conn):
        conn.execute(_PG_INSERT, _columns(couplings))
    elif conn.dialect.name == "sqlite":  # the hot path of a full sync: straight to the driver, values as stored
        conn.exec_driver_sql(_SQLITE_INSERT, [_sqlite_row(c) for c in couplings])
    else:
        conn.execute(insert(schema.couplings), [coupling_values(c) for c in couplings])


def select_couplings(conn: Connection, mapping: str, by_local: bool, keys: list[str]) -> list[Coupling]:
    """The couplings of ``keys`` (local keys when ``by_local``, else integration keys): one query per chunk."""
    column = _C.local_key if by_local else _C.integration_key
    if conn.dialect.name != "sqlite":
        select_columns = select(*(_C[name] for name in COUPLING_FIELDS))
        found: list[Coupling] = []
        for chunk in chunks(keys):
            rows = conn.execute(select_columns.where(_C.mapping == mapping, key_in(conn, column, chunk))).all()
            found.extend(coupling_from_row(row) for row in rows)
        return found
    # the hot path of every page: straight to the driver, converting the four timestamps as the column type would
    stamp = schema.sqlite_utc
    found = []
    for chunk in chunks(keys):
        sql = f"{_SQLITE_SELECT} {column.name} IN ({', '.join('?' * len(chunk))})"
        for row in conn.exec_driver_sql(sql, (mapping, *chunk)).all():
            found.append(
                coupling_from_row((*row[:3], stamp(row[3]), stamp(row[4]), stamp(row[5]), stamp(row[6]), *row[7:]))
            )
    return found


_SQLITE_SELECT = f"SELECT {', '.join(COUPLING_FIELDS)} FROM {schema.couplings.name} WHERE mapping = ? AND"

_SQLITE_INSERT = (
    f"INSERT INTO {schema.couplings.name} ({', '.join(COUPLING_FIELDS)}) "
    f"VALUES ({', '.join('?' for _ in COUPLING_FIELDS)})"
)


def _sqlite_row(c: Coupling) -> tuple[Any, ...]:
    """``coupling_values(c)`` in COUPLING_FIELDS order, bound as SQLite stores them (see ``_sqlite_value``)."""
    stamp = _sqlite_stamp
    coupled_at = stamp(c.coupled_at)
    return (
        c.mapping,
        c.local_key,
        c.integration_key,
        coupled_at,
        stamp(c.local_modified_on),
        stamp(c.integration_modified_on),
        coupled_at if c.last_synced_at is c.coupled_at else stamp(c.last_synced_at),  # a new coupling: one time
        None if c.to_integration_result is None else c.to_integration_result.value,
        c.to_integration_job,
        None if c.from_integration_result is None else c.from_integration_result.value,
        c.from_integration_job,
        c.last_error,
        c.failure_count,
        int(c.skipped),
        c.fingerprint,
    )


def _sqlite_stamp(value: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, as SQLAlchemy's SQLite dialect stores a datetime (years 1000-9999)."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_value(value: Any) -> Any:
    """A bind value exactly as SQLAlchemy's SQLite dialect stores it (UTC datetimes as text, booleans as 0/1)."""
    if isinstance(value, datetime):
        return _sqlite_stamp(value)
    if isinstance(value, bool):
        return int(value)
    return value


def update_couplings(conn: Connection, couplings: Sequence[Coupling]) -> None:
    """Update the couplings matched by mapping and local key; ones that are not stored are left out."""
    if _is_postgresql(conn):
        last = {(c.mapping, c.local_key): c for c in couplings}  # as executemany would: the last one wins
        conn.execute(_PG_UPDATE, _columns(list(last.values())))
        return
    rows = []
    for c in couplings:
        values = coupling_values(c)
        values["b_mapping"] = values.pop("mapping")
        values["b_local_key"] = values.pop("local_key")
        rows.append(values)
    conn.execute(_UPDATE, rows)


def chunks(keys: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def key_in(conn: Connection, column: ColumnElement[str], keys: list[str]) -> ColumnElement[bool]:
    """``column IN (keys)``; on PostgreSQL ``column = ANY(array)``, one parameter whatever the number of keys."""
    if _is_postgresql(conn):
        return column == any_(cast(bindparam("keys", keys), ARRAY(Text())))
    return column.in_(keys)


def upsert_insert(dialect: str, table: Table) -> Any:
    """The INSERT of ``dialect`` (``sqlite`` or ``postgresql``) that has ``on_conflict_do_update``. The dialect's
    module is imported here, when it is used: a command on SQLite does not load PostgreSQL's (nor asyncio)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert(table)


def upsert_row(conn: Connection, table: Table, values: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Insert the row or update it by its primary key ``keys``, only the columns given: native upserts on SQLite and
    PostgreSQL."""
    changes = [name for name in values if name not in keys]
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = upsert_insert(dialect, table)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c[name] for name in keys],
                set_={name: stmt.excluded[name] for name in changes},
            ),
            values,
        )
        return
    match = and_(*(table.c[name] == values[name] for name in keys))
    if conn.execute(update(table).where(match).values({n: values[n] for n in changes})).rowcount == 0:
        conn.execute(insert(table).values(values))


def upsert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows, replacing those with the same primary key (of two in one batch, the last one wins)."""
    if not rows:
        return
    keys = tuple(c.name for c in table.primary_key)
    names = tuple(rows[0])
    dialect = conn.dialect.name
    if dialect == "postgresql":
        last = {tuple(row[k] for k in keys): row for row in rows}
        conn.execute(_pg_upsert(table, names), _arrays(list(last.values()), names))
    elif dialect == "sqlite":
        conn.execute(_sqlite_upsert(table, names), list(rows))
    else:
        delete_rows(conn, table, [tuple(row[k] for k in keys) for row in rows])
        last = {tuple(row[k] for k in keys): row for row in rows}
        conn.execute(insert(table), list(last.values()))


def delete_rows(conn: Connection, table: Table, keys: Sequence[tuple[Any, ...]]) -> None:
    """Delete the rows with these primary keys (tuples in the order of the primary key's columns)."""
    if not keys:
        return
    names = tuple(c.name for c in table.primary_key)
    if conn.dialect.name == "postgresql":
        columns = {f"a_{name}": [key[i] for key in keys] for i, name in enumerate(names)}
        conn.execute(_pg_delete(table), columns)
        return
    conn.execute(_delete(table), [{f"b_{name}": key[i] for i, name in enumerate(names)} for key in keys])


@cache
def _pg_upsert(table: Table, names: tuple[str, ...]) -> Insert:
    stmt = upsert_insert("postgresql", table).from_select(names, select(_unnest(table, names)))
    keys = [c.name for c in table.primary_key]
    return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys, set_={name: stmt.excluded[name] for name in names if name not in keys}
    )


@cache
def _sqlite_upsert(table: Table, names: tuple[str, ...]) -> Insert:
    stmt = upsert_insert("sqlite", table)
    keys = [c.name for c in table.primary_key]
    return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys, set_={name: stmt.excluded[name] for name in names if name not in keys}
    )


@cache
def _pg_delete(table: Table) -> Delete:
    names = [c.name for c in table.primary_key]
    v = _unnest(table, names)
    return delete(table).where(and_(*(table.c[name] == v.c[name] for name in names)))


@cache
def _delete(table: Table) -> Delete:
    return delete(table).where(and_(*(c == bindparam(f"b_{c.name}") for c in table.primary_key)))

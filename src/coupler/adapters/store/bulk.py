"""Batch statements on the couplings table. In general one executemany; on PostgreSQL one statement per batch
whatever its size, the values sent as one array per column (``unnest``), which is several times faster than
executemany's row-by-row round trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from coupler.adapters.store import schema
from coupler.adapters.store.rows import COUPLING_FIELDS, coupling_values
from coupler.domain.coupling import Coupling

__all__ = ["insert_couplings", "key_in", "update_couplings"]

_C = schema.couplings.c
_IDENTITY = ("mapping", "local_key")
_CHANGED = tuple(name for name in COUPLING_FIELDS if name not in _IDENTITY)

_UPDATE = update(schema.couplings).where(_C.mapping == bindparam("b_mapping"), _C.local_key == bindparam("b_local_key"))


def _array_type(column_type: TypeEngine[Any]) -> ARRAY[Any]:
    if isinstance(column_type, String):
        return ARRAY(Text())
    return ARRAY(column_type)


def _unnest() -> Any:
    arrays = [cast(bindparam(f"a_{name}"), _array_type(_C[name].type)) for name in COUPLING_FIELDS]
    return func.unnest(*arrays).table_valued(*COUPLING_FIELDS).render_derived(name="v")


_V = _unnest()
_PG_INSERT = insert(schema.couplings).from_select(COUPLING_FIELDS, select(_V))
_PG_UPDATE = (
    update(schema.couplings)
    .where(_C.mapping == _V.c.mapping, _C.local_key == _V.c.local_key)
    .values({name: _V.c[name] for name in _CHANGED})
)


def _is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _columns(couplings: Sequence[Coupling]) -> dict[str, list[Any]]:
    rows = [coupling_values(c) for c in couplings]
    return {f"a_{name}": [row[name] for row in rows] for name in COUPLING_FIELDS}


def insert_couplings(conn: Connection, couplings: Sequence[Coupling]) -> None:
    if _is_postgresql(conn):
        conn.execute(_PG_INSERT, _columns(couplings))
    else:
        conn.execute(insert(schema.couplings), [coupling_values(c) for c in couplings])


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


def key_in(conn: Connection, column: ColumnElement[str], keys: list[str]) -> ColumnElement[bool]:
    """``column IN (keys)``; on PostgreSQL ``column = ANY(array)``, one parameter whatever the number of keys."""
    if _is_postgresql(conn):
        return column == any_(cast(bindparam("keys", keys), ARRAY(Text())))
    return column.in_(keys)

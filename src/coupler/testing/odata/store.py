"""The SQLite side of the test servers: reflected tables, row versions, who wrote a row, and what was deleted.

The server adds three small tables and three triggers per served table, so that writes made by anyone (the
server, the ``sqlite3`` shell, the demo) bump a database-wide row version as SQL Server's rowversion does:
``_testing_rows`` holds per row its version, the user that last wrote it (the actor the server sets inside its
own transactions; NULL for anyone else) and whether it was deleted (the deleted entries of change tracking).
All database work goes through ``Store.transaction``, one at a time.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = ["ColumnMeta", "Store", "StoreError", "TableMeta", "now_text"]

_LENGTH_CHECK = re.compile(r'length\(\s*"?([^"()]+)"?\s*\)\s*<=\s*(\d+)')
_ROWS, _CLOCK, _ACTOR = "_testing_rows", "_testing_clock", "_testing_actor"


def now_text() -> str:
    """UTC now as the demo stores it: ``2026-01-31T12:00:00.123Z``."""
    return format_timestamp(datetime.now(UTC))


def format_timestamp(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class StoreError(Exception):
    """A write the database refuses. ``kind``: unknown-column, read-only, too-long, type, not-null, duplicate,
    constraint."""

    def __init__(self, kind: str, message: str, *, column: str | None = None, limit: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.column = column
        self.limit = limit


@dataclass(frozen=True, kw_only=True)
class ColumnMeta:
    name: str
    kind: str  # string | integer | real
    nullable: bool
    max_length: int | None
    primary_key: bool
    computed: bool
    has_default: bool


@dataclass(frozen=True, kw_only=True)
class TableMeta:
    name: str
    key: str
    modified_on: str
    table: sa.Table
    columns: Mapping[str, ColumnMeta]


class Store:
    """The served SQLite database. ``tables`` maps a table name to its (key, modified-on) columns."""

    def __init__(self, db_url: str, tables: Mapping[str, tuple[str, str]]) -> None:
        self.engine = sa.create_engine(db_url, connect_args={"timeout": 30})
        self._lock = threading.RLock()
        self.metadata = sa.MetaData()
        self.tables: dict[str, TableMeta] = {}
        inspector = sa.inspect(self.engine)
        missing = [name for name in tables if not inspector.has_table(name)]
        if missing:
            raise ValueError(f"{db_url} has no table {', '.join(map(repr, missing))}")
        for name, (key, modified_on) in tables.items():
            self.tables[name] = self._reflect(inspector, name, key, modified_on)
        self._install_tracking()
        self.rows = sa.Table(_ROWS, self.metadata, autoload_with=self.engine)

    def _reflect(self, inspector: sa.Inspector, name: str, key: str, modified_on: str) -> TableMeta:
        table = sa.Table(name, self.metadata, autoload_with=self.engine)
        for required in (key, modified_on):
            if required not in table.c:
                raise ValueError(f"table {name!r} has no column {required!r}")
        lengths = {}
        for check in inspector.get_check_constraints(name):
            for column, length in _LENGTH_CHECK.findall(check["sqltext"]):
                lengths[column] = int(length)
        computed = {c["name"] for c in inspector.get_columns(name) if c.get("computed")}
        columns = {}
        for column in table.columns:
            kind = (
                "integer"
                if isinstance(column.type, sa.Integer)
                else "real"
                if isinstance(column.type, sa.Float | sa.Numeric)
                else "string"
            )
            length = lengths.get(column.name) or getattr(column.type, "length", None)
            columns[column.name] = ColumnMeta(
                name=column.name,
                kind=kind,
                nullable=bool(column.nullable) and column.name != key,
                max_length=length,
                primary_key=column.name == key,
                computed=column.name in computed,
                has_default=column.server_default is not None,
            )
        return TableMeta(name=name, key=key, modified_on=modified_on, table=table, columns=columns)

    def _install_tracking(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {_ROWS} (tbl TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,"
                " modifiedby TEXT, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tbl, key))"
            )
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix{_ROWS}_version ON {_ROWS} (tbl, version)")
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {_CLOCK} (v INTEGER NOT NULL)")
            conn.exec_driver_sql(f"INSERT INTO {_CLOCK} (v) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {_CLOCK})")
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {_ACTOR} (user TEXT)")
            conn.exec_driver_sql(f"INSERT INTO {_ACTOR} (user) SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM {_ACTOR})")
            for meta in self.tables.values():
                for event, row, deleted in (("INSERT", "NEW", 0), ("UPDATE", "NEW", 0), ("DELETE", "OLD", 1)):
                    conn.exec_driver_sql(
                        f'CREATE TRIGGER IF NOT EXISTS "_testing_{meta.name}_{event.lower()}" AFTER {event} ON '
                        f'"{meta.name}" FOR EACH ROW BEGIN UPDATE {_CLOCK} SET v = v + 1; '
                        f"INSERT OR REPLACE INTO {_ROWS} (tbl, key, version, modifiedby, deleted) VALUES "
                        f"('{meta.name}', {row}.\"{meta.key}\", (SELECT v FROM {_CLOCK}), "
                        f"(SELECT user FROM {_ACTOR}), {deleted}); END"
                    )

    @contextmanager
    def transaction(self, actor: str | None = None) -> Iterator[sa.Connection]:
        """One transaction at a time; rows written in it are stamped as written by ``actor``."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {_ACTOR} SET user = :u"), {"u": actor})
            yield conn
            conn.execute(sa.text(f"UPDATE {_ACTOR} SET user = NULL"))

    def select(self, name: str) -> sa.Select[Any]:
        """All columns of the table plus ``_version`` and ``_modifiedby`` from the tracking table."""
        meta = self.tables[name]
        rows = self.rows
        joined = meta.table.outerjoin(rows, sa.and_(rows.c.tbl == name, rows.c.key == meta.table.c[meta.key]))
        return sa.select(
            meta.table,
            sa.func.coalesce(rows.c.version, 0).label("_version"),
            rows.c.modifiedby.label("_modifiedby"),
        ).select_from(joined)

    def get(self, conn: sa.Connection, name: str, key: str) -> dict[str, Any] | None:
        meta = self.tables[name]
        row = conn.execute(self.select(name).where(meta.table.c[meta.key] == key)).mappings().first()
        return dict(row) if row is not None else None

    def clock(self, conn: sa.Connection) -> int:
        return int(conn.execute(sa.text(f"SELECT v FROM {_CLOCK}")).scalar_one())

    def bump_clock(self, conn: sa.Connection) -> int:
        """Advance the version without writing a row (so that tokens issued from now on are newer)."""
        conn.execute(sa.text(f"UPDATE {_CLOCK} SET v = v + 1"))
        return self.clock(conn)

    def deleted_since(self, conn: sa.Connection, name: str, version: int) -> list[str]:
        rows = self.rows
        query = (
            sa.select(rows.c.key)
            .where(rows.c.tbl == name, rows.c.deleted == 1, rows.c.version > version)
            .order_by(rows.c.version)
        )
        return list(conn.execute(query).scalars())

    def insert(self, conn: sa.Connection, name: str, values: Mapping[str, Any]) -> str:
        meta = self.tables[name]
        row = self._checked(meta, values)
        key = str(row.get(meta.key) or uuid.uuid4())
        row[meta.key] = key
        row[meta.modified_on] = now_text()
        for column in meta.columns.values():
            if row.get(column.name) is None and not column.nullable and not column.has_default:
                raise StoreError("not-null", f"'{column.name}' is required.", column=column.name)
        self._execute(conn, meta.table.insert().values(row))
        return key

    def update(self, conn: sa.Connection, name: str, key: str, values: Mapping[str, Any]) -> None:
        meta = self.tables[name]
        row = self._checked(meta, values)
        if str(row.pop(meta.key, key)) != key:
            raise StoreError("read-only", f"The key '{meta.key}' cannot be changed.", column=meta.key)
        row[meta.modified_on] = now_text()
        self._execute(conn, meta.table.update().where(meta.table.c[meta.key] == key).values(row))

    def delete(self, conn: sa.Connection, name: str, key: str) -> bool:
        meta = self.tables[name]
        return conn.execute(meta.table.delete().where(meta.table.c[meta.key] == key)).rowcount > 0

    def _checked(self, meta: TableMeta, values: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, value in values.items():
            column = meta.columns.get(name)
            if column is None:
                raise StoreError("unknown-column", f"'{name}' is not a column of {meta.name}.", column=name)
            if name == meta.modified_on:
                continue  # the server stamps it, as the real systems do
            if column.computed:
                raise StoreError("read-only", f"'{name}' is computed and cannot be written.", column=name)
            row[name] = _converted(column, value)
        return row

    def _execute(self, conn: sa.Connection, statement: sa.Executable) -> None:
        try:
            with conn.begin_nested():
                conn.execute(statement)
        except IntegrityError as exc:
            raise _integrity_error(str(exc.orig)) from None


def _converted(column: ColumnMeta, value: Any) -> Any:
    if value is None:
        if not column.nullable:
            raise StoreError("not-null", f"'{column.name}' cannot be null.", column=column.name)
        return None
    if column.kind == "integer" and isinstance(value, int):
        return int(value)
    if column.kind == "real" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column.kind == "string" and isinstance(value, str):
        if column.max_length is not None and len(value) > column.max_length:
            raise StoreError(
                "too-long",
                f"The length of '{column.name}' is {len(value)}; at most {column.max_length} characters are allowed.",
                column=column.name,
                limit=column.max_length,
            )
        return value
    expected = {"integer": "an integer", "real": "a number", "string": "a string"}[column.kind]
    raise StoreError("type", f"'{column.name}' must be {expected}, not {value!r}.", column=column.name)


def _integrity_error(message: str) -> StoreError:
    if message.startswith("UNIQUE constraint failed"):
        return StoreError("duplicate", "A record with matching key values already exists.")
    if message.startswith("NOT NULL constraint failed"):
        column = message.rsplit(".", 1)[-1]
        return StoreError("not-null", f"'{column}' is required.", column=column)
    name = message.split(":", 1)[-1].strip()
    return StoreError("constraint", f"The value breaks the rule {name}.")

"""What the SQL connector knows about one reflected table: column descriptions, key conversion between the port's
strings and the column's own type, and how its modified-on column is stored (date-time or ISO 8601 text)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from coupler.adapters.connectors.sql.filters import column_of
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import TableSpec
from coupler.domain.timeutil import format_iso, parse_timestamp, to_utc
from coupler.ports.connector import ColumnInfo

__all__ = ["TablePlan", "check_lengths", "column_info", "is_invalid", "random_uuids", "read_timestamp"]

_LENGTH_CHECK = re.compile(r"""\b(?:char_)?length\(\s*["`\[]?(\w+)["`\]]?\s*\)\s*<=\s*(\d+)""", re.IGNORECASE)
"""A CHECK that caps a text column's length (``length("city") <= 30``), as a database without VARCHAR limits (SQLite)
declares one."""

_INVALID = object()

_TYPE_NAMES: tuple[tuple[type[sa.types.TypeEngine[Any]], str], ...] = (
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.Float, "float"),
    (sa.Numeric, "decimal"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Interval, "interval"),
    (sa.Uuid, "uuid"),
    (sa.Enum, "string"),
    (sa.String, "string"),
    (sa.LargeBinary, "binary"),
    (sa.JSON, "json"),
)


def check_lengths(table: sa.Table) -> dict[str, int]:
    """The lengths the table's CHECK constraints cap its text columns at (column -> characters)."""
    found: dict[str, int] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            for column, length in _LENGTH_CHECK.findall(str(constraint.sqltext)):
                found[column] = min(int(length), found.get(column, int(length)))
    return found


def column_info(column: sa.Column[Any], *, checked: int | None = None) -> ColumnInfo:
    """A reflected column as the port describes it: a short portable type name ("string", "integer" ...);
    ``checked``: the length a CHECK caps it at, when its type does not say."""
    kind = next((name for cls, name in _TYPE_NAMES if isinstance(column.type, cls)), None)
    length = getattr(column.type, "length", None) if isinstance(column.type, sa.String) else None
    length = length or checked
    return ColumnInfo(
        name=column.name,
        type=kind or type(column.type).__name__.lower(),
        nullable=bool(column.nullable),
        max_length=length,
        primary_key=bool(column.primary_key),
    )


def read_timestamp(value: Any) -> datetime | None:
    """A stored modified-on value as aware UTC; fast for ISO text and naive/UTC datetimes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return parse_timestamp(value)
    else:
        return parse_timestamp(value)
    tz = parsed.tzinfo
    if tz is UTC:
        return parsed
    if tz is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class TablePlan:
    """A table with the spec's key and modified-on columns resolved."""

    name: str
    table: sa.Table
    key: sa.Column[Any]
    modified_on: sa.Column[Any] | None
    key_type: type

    @classmethod
    def build(cls, table: sa.Table, spec: TableSpec) -> TablePlan:
        key = column_of(table, spec.key, table_name=spec.table)
        modified_on = None
        if spec.modified_on:
            modified_on = column_of(table, spec.modified_on, table_name=spec.table)
            if not isinstance(modified_on.type, sa.DateTime | sa.String):
                raise ConfigurationError(
                    f"the modified-on column {spec.modified_on!r} of table {spec.table!r} must be a date-time "
                    f"column or text holding ISO 8601 timestamps, not {type(modified_on.type).__name__}"
                )
        try:
            key_type: type = key.type.python_type
        except NotImplementedError:
            key_type = str
        return cls(name=spec.table, table=table, key=key, modified_on=modified_on, key_type=key_type)

    # writes --------------------------------------------------------------------------------------------------
    def insert_rows(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows that all name the same columns, in one executemany. When no column's type converts its values
        on the way in (text, integers), the rows go straight to the driver: on SQLite as tuples (SQLAlchemy's per-row
        parameter building costs more than SQLite's insert itself), on PostgreSQL (psycopg) in one COPY, which fires
        the table's row triggers as an INSERT does."""
        names = tuple(rows[0])
        dialect = conn.dialect
        columns = [self.table.c[name] for name in names]
        plain = not any(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
        quote = dialect.identifier_preparer
        table, listed = quote.format_table(self.table), ", ".join(quote.quote(n) for n in names)
        if plain and dialect.name == "sqlite":
            sql = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' for _ in names)})"
            conn.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])
        elif plain and dialect.name == "postgresql" and dialect.driver == "psycopg":
            _copy(conn, f"COPY {table} ({listed}) FROM STDIN", [tuple(row[name] for name in names) for row in rows])
        else:
            conn.execute(self.table.insert(), list(rows))

    # keys ----------------------------------------------------------------------------------------------------
    def key_value(self, key: str) -> Any:
        """The port's string key in the column's type, or ``INVALID`` when it cannot be one (so cannot exist)."""
        if self.key_type is str:
            return key
        try:
            return self.key_type(key)
        except (TypeError, ValueError):
            return _INVALID

    def key_values(self, keys: Sequence[str]) -> list[Any]:
        """The distinct keys that can exist, in the column's type and in the given order."""
        if self.key_type is str:
            return list(dict.fromkeys(keys))
        values = (self.key_value(key) for key in keys)
        return list(dict.fromkeys(value for value in values if value is not _INVALID))

    @property
    def generates_keys(self) -> bool:
        """Whether the database assigns missing keys (integer keys: autoincrement or identity). Text and UUID keys
        are generated by coupler even when the column has a server default, so inserts need no RETURNING."""
        return isinstance(self.key.type, sa.Integer)

    @property
    def unique_column(self) -> str | None:
        """The first column besides the key that a unique constraint or index covers alone (a customer number):
        the table's alternate key."""
        singles = [list(c.columns) for c in self.table.constraints if isinstance(c, sa.UniqueConstraint)]
        singles += [list(i.columns) for i in self.table.indexes if i.unique]
        names = [columns[0].name for columns in singles if len(columns) == 1 and columns[0] is not self.key]
        return next((c.name for c in self.table.columns if c.name in names), None)

    def new_key(self) -> Any:
        value = uuid.uuid4()
        return value if self.key_type is uuid.UUID else str(value)

    @staticmethod
    def new_key_texts(count: int) -> list[str]:
        """``count`` new keys as text: ``str(new_key())`` each, made in one go."""
        return random_uuids(count)

    # modified-on ---------------------------------------------------------------------------------------------
    @property
    def version(self) -> sa.ColumnElement[Any] | None:
        """A record's version: its modified-on as the database spells it in text (exact, whatever the column's
        type or the format it holds), which an update compares to make itself conditional; None without one."""
        if self.modified_on is None:
            return None
        return sa.cast(self.modified_on, sa.String())

    def bind_timestamp(self, value: datetime) -> Any:
        """``value`` as the modified-on column stores it: ISO text, aware UTC, or naive UTC."""
        if self.modified_on is None or isinstance(self.modified_on.type, sa.String):
            return format_iso(value)
        utc = to_utc(value)
        if getattr(self.modified_on.type, "timezone", False):
            return utc
        return utc.replace(tzinfo=None)

    def column(self, name: str) -> sa.Column[Any]:
        return column_of(self.table, name, table_name=self.name)

    def columns(self, names: Sequence[str]) -> list[sa.Column[Any]]:
        return [self.column(name) for name in names]


def is_invalid(value: object) -> bool:
    """Whether ``TablePlan.key_value`` found the key impossible for the column (so no record has it)."""
    return value is _INVALID


def random_uuids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, as ``str(uuid.uuid4())`` spells them: from one read of the
    system's random source, without a UUID object each."""
    raw = os.urandom(16 * count).hex()
    keys = []
    for start in range(0, 32 * count, 32):
        h = raw[start : start + 32]
        keys.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return keys


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The first digit of the fourth group: the RFC 4122 variant (binary 10xx) with the digit's two low bits."""


def _copy(conn: sa.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``COPY ... FROM STDIN`` of ``rows`` on the connection's psycopg connection, in its transaction; a database
    error is raised as SQLAlchemy raises it from a statement (so that a refused batch is split as any other)."""
    import psycopg

    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as error:
        raise sa.exc.DBAPIError.instance(sql, None, error, psycopg.Error) from error
    finally:
        cursor.close()

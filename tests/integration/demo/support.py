"""Helpers for the demo tests: plain sqlite3 access to the demo databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

ISO_MS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection; what a test does is not committed unless it commits."""
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    """Every column of ``table``, generated ones included."""
    return [row["name"] for row in connection.execute(f'PRAGMA table_xinfo("{table}")')]


def rows(path: Path, table: str, *, without: tuple[str, ...] = ()) -> list[dict[str, object]]:
    with connect(path) as connection:
        found = [dict(row) for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid')]
    return [{k: v for k, v in row.items() if k not in without} for row in found]


def one(connection: sqlite3.Connection, sql: str, *params: object) -> sqlite3.Row:
    row = connection.execute(sql, params).fetchone()
    assert row is not None, sql
    return row  # type: ignore[no-any-return]

"""Fixtures for the state store tests: the same store contract on memory, a SQLite file and PostgreSQL.

PostgreSQL tests create a uniquely named database (one per test module, or per test where a test needs a blank
one) on the server at ``COUPLER_TEST_PG_URL`` and drop it afterwards; they fail when the server is unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from coupler.adapters.store import InMemoryStateStore, SqlStateStore, open_state_store
from coupler.adapters.store.sql.schema import metadata
from coupler.ports.store import StateStore
from pgdb import fresh_pg_database

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = ["memory", *SQL_BACKENDS]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; its URL."""
    with fresh_pg_database("coupler_store") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A fresh PostgreSQL database shared by the tests of one module."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_store(pg_module_url: str) -> Iterator[SqlStateStore]:
    store = open_state_store(pg_module_url)
    try:
        yield store
    finally:
        store.close()


def _emptied(store: SqlStateStore) -> SqlStateStore:
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return store


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    """The URL of a new SQLite file."""
    return sqlite_url(tmp_path)


@contextmanager
def _sql_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStateStore]:
    if kind == "postgres":
        yield _emptied(request.getfixturevalue("pg_module_store"))
        return
    store = open_state_store(sqlite_url(tmp_path))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=ALL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """An empty state store of each kind: in memory, a new SQLite file, the module's PostgreSQL database emptied."""
    if request.param == "memory":
        yield InMemoryStateStore()
        return
    with _sql_store(request.param, request, tmp_path) as sql:
        yield sql


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStateStore]:
    """An empty SQL state store: a new SQLite file, or the module's PostgreSQL database emptied."""
    with _sql_store(request.param, request, tmp_path) as sql:
        yield sql


@pytest.fixture(params=SQL_BACKENDS)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with postgres_database() as url:
        yield url

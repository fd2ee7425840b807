"""Fixtures of the connector contract: one ``backend`` per connector (in-memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from contract.backends import Backend, MemoryBackend, SqlBackend

PG_ADMIN_URL = os.environ.get("COUPLER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[sa.URL]:
    """A fresh PostgreSQL database for the test module, dropped afterwards."""
    admin_url = sa.make_url(PG_ADMIN_URL)
    name = f"coupler_contract_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.set(database=name)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made: Backend
    if request.param == "memory":
        made = MemoryBackend()
    elif request.param == "sqlite":
        made = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'contract.sqlite'}"))
    else:
        made = SqlBackend(sa.create_engine(request.getfixturevalue("pg_url")))
    try:
        yield made
    finally:
        made.close()

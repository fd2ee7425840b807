"""Fixtures of the connector contract: one ``backend`` per connector (in-memory, SQLite, PostgreSQL, and the
Dataverse and Business Central connectors against coupler.testing's local servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from contract.connectors.backends import Backend, HttpBackend, MemoryBackend, SqlBackend
from pgdb import fresh_pg_database


@pytest.fixture(scope="module")
def pg_url() -> Iterator[sa.URL]:
    """A fresh PostgreSQL database for the test module, dropped afterwards."""
    with fresh_pg_database("coupler_contract") as url:
        yield url


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "dataverse", "business-central"]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made: Backend
    if request.param == "memory":
        made = MemoryBackend()
    elif request.param == "sqlite":
        made = SqlBackend(sa.create_engine(f"sqlite:///{tmp_path / 'contract.sqlite'}"))
    elif request.param in ("dataverse", "business-central"):
        made = HttpBackend(request.param, sa.create_engine(f"sqlite:///{tmp_path / 'contract.sqlite'}"))
    else:
        made = SqlBackend(sa.create_engine(request.getfixturevalue("pg_url")))
    try:
        yield made
    finally:
        made.close()

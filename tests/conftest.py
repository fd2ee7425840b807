"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from pgdb import fresh_pg_database


@pytest.fixture
def pg_url() -> Iterator[sa.URL]:
    """The URL of a fresh PostgreSQL database for one test (fails when the server is unreachable)."""
    with fresh_pg_database("coupler_test") as url:
        yield url


@pytest.fixture(autouse=True)
def _no_log_context_left() -> None:
    """Each test starts with no job's fields in the log context (a test that leaves a job unfinished would otherwise
    tag the next test's lines on the same thread)."""
    from coupler.services.log_context import clear

    clear()

"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pgdb import fresh_pg_database


def pytest_configure(config: pytest.Config) -> None:
    """The subprocesses the tests start (`coupler` commands, `coupler serve`, test servers) keep their compiled
    modules between runs. With PYTHONDONTWRITEBYTECODE set (as on the shared development machine), each of the
    hundreds of `coupler` runs compiled the whole package again: a fifth of its CPU time. The compiled files go to a
    folder in the temporary directory (PYTHONPYCACHEPREFIX), never beside the sources; a PYTHONPYCACHEPREFIX
    already set is kept."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "coupler-tests-pycache")
        del os.environ["PYTHONDONTWRITEBYTECODE"]


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

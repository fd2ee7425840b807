"""Run the state store's Alembic migrations programmatically, from the packaged ``migrations`` folder.

Alembic is imported only when a migration runs: opening a store that is up to date (every command but the first)
compares its version row with ``HEAD`` in plain SQL, which keeps a command's start-up short."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, String, column, inspect, select, table, text

from coupler.adapters.store.sql.schema import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "MIGRATIONS", "current_revision", "head_revision", "migrations_config", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

HEAD = "0008"
"""The newest migration's revision: a new migration changes it (tests/contract/store/test_store_migrations.py
checks it is Alembic's head)."""


def migrations_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no ini file; logging untouched)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 7_406_921_113
"""The PostgreSQL advisory lock a migration holds: workers starting together on a new store migrate it once."""

_ALEMBIC = threading.Lock()
"""Alembic's migration environment lives in module globals: one migration run at a time per process (a web app
opens a state store per background task, possibly several at once)."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; nothing happens when it is there already (checked without Alembic's
    environment, so opening an up-to-date store is cheap and safe from any thread)."""
    if revision == "head" and current_revision(engine) == HEAD:
        return
    from alembic import command

    with _ALEMBIC, engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # processes opening a new store at once migrate it one by one
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(migrations_config(connection), revision)


@cache
def head_revision() -> str | None:
    """Alembic's head, read from the migration scripts."""
    from alembic.script import ScriptDirectory

    with _ALEMBIC:
        return ScriptDirectory.from_config(migrations_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a new database (or one with several heads, which only Alembic
    sorts out)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        version = column("version_num", String)
        rows = list(connection.execute(select(version).select_from(table(VERSION_TABLE))).scalars())
    return rows[0] if len(rows) == 1 else None

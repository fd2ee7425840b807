"""Run the state store's Alembic migrations programmatically, from the packaged ``migrations`` folder."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from coupler.adapters.store.sql.schema import VERSION_TABLE

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "migrations_config", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def migrations_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no ini file; logging untouched)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_ALEMBIC = threading.Lock()
"""Alembic's migration environment lives in module globals: one migration run at a time per process (a web app
opens a state store per background task, possibly several at once)."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; nothing happens when it is there already (checked without Alembic's
    environment, so opening an up-to-date store is cheap and safe from any thread)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with _ALEMBIC, engine.begin() as connection:
        command.upgrade(migrations_config(connection), revision)


@cache
def head_revision() -> str | None:
    with _ALEMBIC:
        return ScriptDirectory.from_config(migrations_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()

"""Run the state store's Alembic migrations programmatically, from the packaged ``migrations`` folder."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from coupler.adapters.store.schema import VERSION_TABLE

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "migrations_config", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrations_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code (no ini file; logging untouched)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; nothing happens when it is there already."""
    with engine.begin() as connection:
        command.upgrade(migrations_config(connection), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(migrations_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()

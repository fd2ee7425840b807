"""Alembic environment for coupler's state store.

Run programmatically by ``coupler.adapters.store.sql.migrate``: the connection comes in ``config.attributes``.
Logging is left alone (no ``fileConfig``). A ``sqlalchemy.url`` main option is honoured for ad-hoc command-line use."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from coupler.adapters.store.sql.schema import VERSION_TABLE, is_own_name, metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=is_own_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()

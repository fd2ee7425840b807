"""Opening the queue: a procrastinate app on the state store's PostgreSQL database, and its schema applied once.

procrastinate keeps its own tables (``procrastinate_jobs``, ``procrastinate_workers``, ``procrastinate_periodic_defers``
...) beside coupler's; coupler applies them the first time the queue is used, under an advisory lock so that workers
starting together apply them once.
"""

from __future__ import annotations

import procrastinate
import psycopg
import sqlalchemy as sa

from coupler.domain.errors import ConfigurationError

from .progress import SCHEMA as PROGRESS

__all__ = ["SCHEMA_LOCK", "conninfo", "ensure_schema", "queue_app"]

SCHEMA_LOCK = 7_406_921_114
"""The advisory lock held while procrastinate's schema is applied."""


def conninfo(state_url: str) -> str:
    """The libpq connection string of the state store's database (``postgresql+psycopg://...`` -> ``postgresql://``)."""
    url = sa.make_url(state_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(f"The job queue needs a PostgreSQL state store, not {url.get_backend_name()}.")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(state_url: str) -> procrastinate.App:
    """A procrastinate app on the state store's database (not opened: ``with app.open():`` or the worker opens it)."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(state_url), min_size=1))


def ensure_schema(state_url: str) -> bool:
    """Apply procrastinate's schema unless it is there already; True when it was applied now."""
    with psycopg.connect(conninfo(state_url), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            connection.execute(PROGRESS)  # the web app's view of what a job has done (``progress``)
            row = connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            if row is not None and row[0]:
                return False
            schema = procrastinate.schema.SchemaManager.get_schema()
            with connection.transaction():
                connection.execute(schema)
            return True
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

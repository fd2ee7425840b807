"""Opening the queue: a procrastinate app on the state store's PostgreSQL database, and its schema applied once.

procrastinate keeps its own tables (``procrastinate_jobs``, ``procrastinate_workers``, ``procrastinate_periodic_defers``
...) beside coupler's; coupler applies them the first time the queue is used, under an advisory lock so that workers
starting together apply them once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import procrastinate
import psycopg
import psycopg_pool
import sqlalchemy as sa
from procrastinate.exceptions import ConnectorException

from coupler.domain.errors import ConfigurationError, ConnectorError

from .progress import SCHEMA as PROGRESS

__all__ = ["SCHEMA_LOCK", "QueueUnavailable", "answering", "conninfo", "ensure_schema", "ping", "queue_app"]

SCHEMA_LOCK = 7_406_921_114
"""The advisory lock held while procrastinate's schema is applied."""
CONNECT_SECONDS = 5
"""How long a connection to the queue's database is waited for before it is said not to answer."""


class QueueUnavailable(ConnectorError):
    """The job queue's PostgreSQL database does not answer (stopped, unreachable, refusing connections): nothing
    was queued."""


def unavailable(state_url: str, error: BaseException) -> QueueUnavailable:
    """The error people read when the queue's database does not answer: where it is (host, port and database, never
    the password), why (the driver's first line), and what to do."""
    url = sa.make_url(state_url)
    cause = error.__cause__ if isinstance(error, ConnectorException) and error.__cause__ else error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0].rstrip(".")
    reason = reason.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()  # libpq's "connection to ... failed: "
    if url.password:
        reason = reason.replace(str(url.password), "***")
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return QueueUnavailable(
        f"The job queue (PostgreSQL at {where}, database {url.database}) does not answer: {reason}. "
        "Start PostgreSQL there, or check the state store's address (state in coupler.toml) and that this machine "
        "may reach it; nothing was queued: ask again once it answers."
    )


@contextmanager
def answering(state_url: str) -> Iterator[None]:
    """Inside, the queue's database not answering (a connection refused, timed out or lost) raises
    ``QueueUnavailable`` in people's words; other errors pass as they are."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
        raise unavailable(state_url, error) from None
    except ConnectorException as error:
        if not isinstance(error.__cause__, psycopg.OperationalError | psycopg_pool.PoolTimeout):
            raise
        raise unavailable(state_url, error) from None


def ping(state_url: str) -> None:
    """Connect to the queue's database and back, within ``CONNECT_SECONDS``; ``QueueUnavailable`` when it does not
    answer (before a procrastinate pool would wait for it for half a minute)."""
    with answering(state_url), psycopg.connect(conninfo(state_url), connect_timeout=CONNECT_SECONDS) as connection:
        connection.execute("SELECT 1")


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
    """Apply procrastinate's schema unless it is there already; True when it was applied now. ``QueueUnavailable``
    when the database does not answer."""
    with answering(state_url), _connect(state_url) as connection:
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


def _connect(state_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(conninfo(state_url), autocommit=True, connect_timeout=CONNECT_SECONDS)

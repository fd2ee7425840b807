"""The state store's tables, declared with SQLAlchemy Core; every name is prefixed ``coupler_`` so the state can live
in a database shared with other applications. The Alembic migrations must build exactly this schema (a test checks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeEngine

from coupler.domain.jobs import Counters

_ResultProcessor = Callable[[Any], Any]

__all__ = [
    "COUNTED",
    "COUNTER_COLUMNS",
    "KEY_LENGTH",
    "PREFIX",
    "RESULT_RANK",
    "VERSION_TABLE",
    "UtcDateTime",
    "conflicts",
    "counts",
    "couplings",
    "intents",
    "is_own_name",
    "job_errors",
    "jobs",
    "known_metadata",
    "locks",
    "metadata",
    "pending_deletions",
    "record_failures",
    "watermarks",
]

VERSION_TABLE = "coupler_alembic_version"
"""Alembic's version table for coupler's migrations, apart from any ``alembic_version`` of a shared database."""

PREFIX = "coupler_"


def is_own_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: only coupler's own tables, the database may be shared."""
    return type_ != "table" or (name is not None and name.startswith(PREFIX))


NAME_LENGTH = 200
KEY_LENGTH = 400
JOB_ID_LENGTH = 64
CONNECTION_LENGTH = 1000
METADATA_KEY_LENGTH = 1000
HOST_LENGTH = 255

COUNTER_COLUMNS = tuple(Counters().as_dict())
"""One column per job counter, named like the counter."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that stores UTC and always returns aware UTC (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> _ResultProcessor | None:
        if dialect.name == "sqlite":
            return sqlite_utc  # one call per value instead of parsing, then converting
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def sqlite_utc(value: str | None) -> datetime | None:
    """SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, without an offset."""
    return None if value is None else datetime.fromisoformat(value + "+00:00")  # 6x faster than .replace(tzinfo)


def _name() -> String:
    return String(NAME_LENGTH)


def _key() -> String:
    return String(KEY_LENGTH)


def _ordered_key() -> TypeEngine[str]:
    """A key that pages are ordered by: code point order on every database (the "C" collation on PostgreSQL)."""
    return String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql")


def _ordered_name() -> TypeEngine[str]:
    """A mapping name that lists are ordered by, in code point order like ``_ordered_key``."""
    return String(NAME_LENGTH).with_variant(String(NAME_LENGTH, collation="C"), "postgresql")


RESULT_RANK = (
    "(CASE WHEN coalesce(to_integration_result, '~') < coalesce(from_integration_result, '~') "
    "THEN coalesce(to_integration_result, '~') ELSE coalesce(from_integration_result, '~') END)"
)
"""A coupling's worst result of either direction, as text that sorts worst first (conflict, failure, pending,
success; ``~``: none): the expression of the result index, written the same in every query that uses it."""

couplings = Table(
    "coupler_couplings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mapping", _name(), nullable=False),
    Column("local_key", _ordered_key(), nullable=False),
    Column("integration_key", _key(), nullable=False),
    Column("coupled_at", UtcDateTime(), nullable=False),
    Column("local_modified_on", UtcDateTime()),
    Column("integration_modified_on", UtcDateTime()),
    Column("last_synced_at", UtcDateTime()),
    Column("to_integration_result", String(16)),
    Column("to_integration_job", String(JOB_ID_LENGTH)),
    Column("from_integration_result", String(16)),
    Column("from_integration_job", String(JOB_ID_LENGTH)),
    Column("last_error", Text),
    Column("failure_count", Integer, nullable=False, server_default=text("0")),
    Column("skipped", Boolean, nullable=False, server_default=false()),
    Column("fingerprint", Text),
    UniqueConstraint("mapping", "local_key"),
    UniqueConstraint("mapping", "integration_key"),
    # Partial indexes: only failed or skipped couplings are indexed, so the bulk of successful ones cost nothing.
    # Migration 0001 gives them the same predicate on PostgreSQL (``postgresql_where``); declaring it here too would
    # load SQLAlchemy's PostgreSQL dialect in every process that opens a state store, SQLite's included (the CLI's
    # start-up), and Alembic's comparison of the schema with this declaration does not compare predicates.
    *(
        Index(
            f"ix_coupler_couplings_{direction}_failures",
            "mapping",
            "local_key",
            sqlite_where=text(f"{direction}_result IN ('failure', 'pending')"),
        )
        for direction in ("to_integration", "from_integration")
    ),
    Index("ix_coupler_couplings_skipped", "mapping", "local_key", sqlite_where=text("skipped")),
    # The records list sorted by last synchronized or by result: ordered keyset reads (revision 0008).
    Index("ix_coupler_couplings_synced", "mapping", "last_synced_at", "local_key"),
    Index("ix_coupler_couplings_result", "mapping", text(RESULT_RANK), "local_key"),
)

watermarks = Table(
    "coupler_watermarks",
    metadata,
    Column("mapping", _name(), primary_key=True),
    Column("side", String(16), primary_key=True),
    Column("value", UtcDateTime()),  # the change cursor's stamp ...
    Column("last_key", _key()),  # ... and key: the last record read at that stamp (NULL: all of them)
    Column("deletions_cursor", Text),  # the connector's opaque deleted-entries feed cursor (a delta token)
)

jobs = Table(
    "coupler_jobs",
    metadata,
    Column("id", String(JOB_ID_LENGTH), primary_key=True),
    Column("mapping", _name(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("direction", String(32), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    *(Column(name, Integer, nullable=False, server_default=text("0")) for name in COUNTER_COLUMNS),
    Column("message", Text),
    Index("ix_coupler_jobs_started_at", "started_at"),
    Index("ix_coupler_jobs_mapping_started_at", "mapping", "started_at"),
)

job_errors = Table(
    "coupler_job_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(JOB_ID_LENGTH), ForeignKey(jobs.c.id, ondelete="CASCADE"), nullable=False),
    Column("mapping", _name(), nullable=False),
    Column("local_key", _key()),
    Column("integration_key", _key()),
    Column("message", Text, nullable=False),
    Column("detail", Text),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_coupler_job_errors_mapping", "mapping"),
    Index("ix_coupler_job_errors_job_id", "job_id"),
)

conflicts = Table(
    "coupler_conflicts",
    metadata,
    Column("mapping", _ordered_name(), primary_key=True),
    Column("local_key", _ordered_key(), primary_key=True),
    Column("integration_key", _key(), nullable=False),
    Column("fields", Text, nullable=False),  # JSON: a list of objects with the ConflictField attributes
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("job_id", String(JOB_ID_LENGTH), nullable=False),
)

record_failures = Table(
    "coupler_record_failures",
    metadata,
    Column("mapping", _ordered_name(), primary_key=True),
    Column("side", String(16), primary_key=True),
    Column("key", _ordered_key(), primary_key=True),
    Column("message", Text, nullable=False),
    Column("job_id", String(JOB_ID_LENGTH), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("failure_count", Integer, nullable=False, server_default=text("1")),
    Column("skipped", Boolean, nullable=False, server_default=false()),
)

pending_deletions = Table(
    "coupler_pending_deletions",
    metadata,
    Column("mapping", _ordered_name(), primary_key=True),
    Column("side", String(16), primary_key=True),
    Column("deleted_key", _ordered_key(), primary_key=True),
    Column("survivor_key", _key(), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("job_id", String(JOB_ID_LENGTH), nullable=False),
    Column("reported", Boolean, nullable=False, server_default=false()),
    Index("ix_coupler_pending_deletions_detected_at", "detected_at"),
)

intents = Table(  # one row per batch of records about to be created: [[source key, target key], ...] as JSON
    "coupler_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mapping", _name(), nullable=False),
    Column("direction", String(32), nullable=False),
    Column("pairs", Text, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_coupler_intents_mapping_direction", "mapping", "direction"),
)

locks = Table(
    "coupler_locks",
    metadata,
    Column("name", _name(), primary_key=True),
    Column("owner", String(JOB_ID_LENGTH * 4), nullable=False),
    Column("until", UtcDateTime(), nullable=False),
    Column("host", String(HOST_LENGTH), nullable=True),  # the owner's process, for `coupler locks` and `unlock`
    Column("pid", Integer, nullable=True),
)

COUNTED = ("couplings", "failed", "skipped", "errors", "conflicts", "pending_deletions")
"""The counts a mapping's statistics show, one column each in ``counts``."""

counts = Table(  # kept up to date by triggers on the counted tables (migration 0007), in the writes' transaction
    "coupler_counts",
    metadata,
    Column("mapping", _name(), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default=text("0")) for name in COUNTED),
)

known_metadata = Table(  # what each connector learnt about its system's schema, kept between processes
    "coupler_metadata",
    metadata,
    Column("connection", String(CONNECTION_LENGTH), primary_key=True),  # kind, URL, company: no secret
    Column("key", String(METADATA_KEY_LENGTH), primary_key=True),  # the connector's key: the request asked
    Column("value", Text, nullable=False),  # the answer's text ($metadata of Business Central: about 1 MB)
    Column("learnt_at", UtcDateTime(), nullable=False),
)

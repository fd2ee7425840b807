"""Parked conflicts, failures of uncoupled records, pending deletions, intents to create, locks; the ``unmatched``
job counter.

Revision ID: 0002
Revises: 0001
Create Date: 2024-07-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _ordered(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _ordered_key() -> sa.types.TypeEngine[str]:
    return _ordered(400)


def upgrade() -> None:
    op.add_column("coupler_jobs", sa.Column("unmatched", sa.Integer(), server_default=sa.text("0"), nullable=False))

    op.create_table(
        "coupler_conflicts",
        sa.Column("mapping", _ordered(200), nullable=False),
        sa.Column("local_key", _ordered_key(), nullable=False),
        sa.Column("integration_key", sa.String(400), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("detected_at", _ts(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("mapping", "local_key", name="pk_coupler_conflicts"),
    )

    op.create_table(
        "coupler_record_failures",
        sa.Column("mapping", _ordered(200), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("key", _ordered_key(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("failure_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("mapping", "side", "key", name="pk_coupler_record_failures"),
    )

    op.create_table(
        "coupler_pending_deletions",
        sa.Column("mapping", _ordered(200), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("deleted_key", _ordered_key(), nullable=False),
        sa.Column("survivor_key", sa.String(400), nullable=False),
        sa.Column("detected_at", _ts(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("reported", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("mapping", "side", "deleted_key", name="pk_coupler_pending_deletions"),
    )
    op.create_index("ix_coupler_pending_deletions_detected_at", "coupler_pending_deletions", ["detected_at"])

    op.create_table(
        "coupler_intents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mapping", sa.String(200), nullable=False),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("pairs", sa.Text(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_coupler_intents"),
    )
    op.create_index("ix_coupler_intents_mapping_direction", "coupler_intents", ["mapping", "direction"])

    op.create_table(
        "coupler_locks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("until", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_coupler_locks"),
    )


def downgrade() -> None:
    op.drop_table("coupler_locks")
    op.drop_table("coupler_intents")
    op.drop_index("ix_coupler_pending_deletions_detected_at", table_name="coupler_pending_deletions")
    op.drop_table("coupler_pending_deletions")
    op.drop_table("coupler_record_failures")
    op.drop_table("coupler_conflicts")
    op.drop_column("coupler_jobs", "unmatched")

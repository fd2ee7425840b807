"""The initial state store: couplings, watermarks, jobs and job errors.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled", "uncoupled", "conflicts")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _ordered_key() -> sa.types.TypeEngine[str]:
    return sa.String(400).with_variant(sa.String(400, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "coupler_couplings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mapping", sa.String(200), nullable=False),
        sa.Column("local_key", _ordered_key(), nullable=False),
        sa.Column("integration_key", sa.String(400), nullable=False),
        sa.Column("coupled_at", _ts(), nullable=False),
        sa.Column("local_modified_on", _ts(), nullable=True),
        sa.Column("integration_modified_on", _ts(), nullable=True),
        sa.Column("last_synced_at", _ts(), nullable=True),
        sa.Column("to_integration_result", sa.String(16), nullable=True),
        sa.Column("to_integration_job", sa.String(64), nullable=True),
        sa.Column("from_integration_result", sa.String(16), nullable=True),
        sa.Column("from_integration_job", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failure_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_coupler_couplings"),
        sa.UniqueConstraint("mapping", "local_key", name="uq_coupler_couplings_mapping_local_key"),
        sa.UniqueConstraint("mapping", "integration_key", name="uq_coupler_couplings_mapping_integration_key"),
    )
    for direction in ("to_integration", "from_integration"):
        where = sa.text(f"{direction}_result IN ('failure', 'pending')")
        op.create_index(
            f"ix_coupler_couplings_{direction}_failures",
            "coupler_couplings",
            ["mapping", "local_key"],
            sqlite_where=where,
            postgresql_where=where,
        )
    op.create_index(
        "ix_coupler_couplings_skipped",
        "coupler_couplings",
        ["mapping", "local_key"],
        sqlite_where=sa.text("skipped"),
        postgresql_where=sa.text("skipped"),
    )

    op.create_table(
        "coupler_watermarks",
        sa.Column("mapping", sa.String(200), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("value", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("mapping", "side", name="pk_coupler_watermarks"),
    )

    op.create_table(
        "coupler_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("mapping", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(32), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        *(sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False) for name in COUNTERS),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_coupler_jobs"),
    )
    op.create_index("ix_coupler_jobs_started_at", "coupler_jobs", ["started_at"])
    op.create_index("ix_coupler_jobs_mapping_started_at", "coupler_jobs", ["mapping", "started_at"])

    op.create_table(
        "coupler_job_errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("mapping", sa.String(200), nullable=False),
        sa.Column("local_key", sa.String(400), nullable=True),
        sa.Column("integration_key", sa.String(400), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", _ts(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["coupler_jobs.id"], name="fk_coupler_job_errors_job_id_coupler_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_coupler_job_errors"),
    )
    op.create_index("ix_coupler_job_errors_mapping", "coupler_job_errors", ["mapping"])
    op.create_index("ix_coupler_job_errors_job_id", "coupler_job_errors", ["job_id"])


def downgrade() -> None:
    op.drop_table("coupler_job_errors")
    op.drop_table("coupler_jobs")
    op.drop_table("coupler_watermarks")
    op.drop_table("coupler_couplings")

"""The key beside each watermark's stamp: the watermark becomes a keyset position (stamp, key), so that a run that
stops between two pages sharing one modified-on resumes among them instead of past them. Existing watermarks keep
their meaning (no key: every record at the stamp was seen).

Revision ID: 0004
Revises: 0003
Create Date: 2024-10-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupler_watermarks", sa.Column("last_key", sa.String(length=400), nullable=True))


def downgrade() -> None:
    op.drop_column("coupler_watermarks", "last_key")

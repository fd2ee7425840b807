"""The cursor of each system's deleted-entries feed (a Dataverse delta token), kept per mapping and side next to
the watermark, so that change tracking goes on across runs.

Revision ID: 0003
Revises: 0002
Create Date: 2024-09-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupler_watermarks", sa.Column("deletions_cursor", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("coupler_watermarks", "deletions_cursor")

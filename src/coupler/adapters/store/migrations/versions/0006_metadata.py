"""What connectors learnt about their systems' schemas (table definitions, ``$metadata``, the signed-in user, the
company), kept per connection with the time it was learnt, so that a process does not ask again what an earlier
one learnt (``coupler check`` and a request that shows the schema changed make it ask again).

Revision ID: 0006
Revises: 0005
Create Date: 2026-07-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupler_metadata",
        sa.Column("connection", sa.String(1000), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("learnt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection", "key", name="pk_coupler_metadata"),
    )


def downgrade() -> None:
    op.drop_table("coupler_metadata")

"""The process that holds each lock (host name and process id), so that an administrator can see whether a lock's
owner is still alive and release the lock of one that is gone (``coupler locks``, ``coupler unlock``).

Revision ID: 0005
Revises: 0004
Create Date: 2025-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupler_locks", sa.Column("host", sa.String(255), nullable=True))
    op.add_column("coupler_locks", sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("coupler_locks", "pid")
    op.drop_column("coupler_locks", "host")

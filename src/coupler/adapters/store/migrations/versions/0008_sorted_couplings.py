"""Indexes for the records list sorted by a coupling's state: by last synchronized and by result (the worst of
either direction), each then by local key, so that any page of a sorted list is one ordered keyset read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as in coupler.adapters.store.sql.schema.RESULT_RANK (a migration keeps its own copy: it must not change)
RESULT_RANK = (
    "(CASE WHEN coalesce(to_integration_result, '~') < coalesce(from_integration_result, '~') "
    "THEN coalesce(to_integration_result, '~') ELSE coalesce(from_integration_result, '~') END)"
)


def upgrade() -> None:
    op.create_index("ix_coupler_couplings_synced", "coupler_couplings", ["mapping", "last_synced_at", "local_key"])
    op.create_index("ix_coupler_couplings_result", "coupler_couplings", ["mapping", sa.text(RESULT_RANK), "local_key"])


def downgrade() -> None:
    op.drop_index("ix_coupler_couplings_result", table_name="coupler_couplings")
    op.drop_index("ix_coupler_couplings_synced", table_name="coupler_couplings")

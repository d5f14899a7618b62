"""Cache invalidations: requests to drop enrichment-cache rows in every server.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "cache_invalidations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("entity", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cache_invalidations"),
    )


def downgrade() -> None:
    op.drop_table("cache_invalidations")

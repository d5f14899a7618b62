"""Lifecycle: version metadata and soft deletion, the audit trail, gate policies per alias.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _version_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=True),
        sa.Column("training_metrics", sa.JSON(), nullable=True),
        sa.Column("sample_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("registered_by", sa.String(length=128), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    for column in _version_columns():
        op.add_column("model_versions", column)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("alias", sa.String(length=64), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("undoes", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["undoes"], ["audit_events.id"], name="fk_audit_events_undoes_audit_events"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_model_id", "audit_events", ["model", "id"])
    op.create_table(
        "gate_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gate_policies"),
        sa.UniqueConstraint("model", "alias", name="uq_gate_policies_model_alias"),
    )


def downgrade() -> None:
    op.drop_table("gate_policies")
    op.drop_index("ix_audit_events_model_id", table_name="audit_events")
    op.drop_table("audit_events")
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy of model_versions would drop the
    # table the aliases' foreign key points at, which SQLite refuses while rows exist
    for column in reversed(_version_columns()):
        op.drop_column("model_versions", column.name)

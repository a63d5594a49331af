"""actions: the durable jobs through which productions, restrictions, notices and reminders
leave the system (dueprocess.actions.models)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dueprocess.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("produce", "restrict", "lift", "notify", "remind")
_STATUSES = ("pending", "running", "done", "failed", "revoked")


def upgrade() -> None:
    op.create_table(
        "action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind", sa.Enum(*_KINDS, name="actionkind", native_enum=False, length=32),
            nullable=False,
        ),  # fmt: skip
        sa.Column(
            "status", sa.Enum(*_STATUSES, name="actionstatus", native_enum=False, length=32),
            nullable=False,
        ),  # fmt: skip
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", dueprocess.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", dueprocess.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["demand_id"], ["demand.id"]),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_action_demand_id", "action", ["demand_id"])
    op.create_index("ix_action_ready", "action", ["status", "not_before", "id"])


def downgrade() -> None:
    op.drop_index("ix_action_ready", table_name="action")
    op.drop_index("ix_action_demand_id", table_name="action")
    op.drop_table("action")

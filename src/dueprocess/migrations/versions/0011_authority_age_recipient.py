"""productions: an authority's age public key, and the production table

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

- ``authority.age_recipient``: the age X25519 public key (``age1...``) the authority's
  productions are encrypted to, checked when it is registered; NULL for every authority
  stored before (they have none until one is set: ``dueprocess authority age-key``).
- ``production``: one row per package sealed (docs/productions.md): the hashes of its
  manifest, its tar and the stored bytes, the key it was sealed to, where the bytes are
  under the data directory, and its life (expiry, revocation, the one download).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dueprocess.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("authority", schema=None) as batch_op:
        batch_op.add_column(sa.Column("age_recipient", sa.String(length=100), nullable=True))
    op.create_table(
        "production",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("archive_sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("encrypted_to", sa.String(length=100), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dueprocess.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("downloaded_at", dueprocess.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["demand_id"], ["demand.id"], name=op.f("fk_production_demand_id_demand")),
        sa.ForeignKeyConstraint(["downloaded_by"], ["account.id"], name=op.f("fk_production_downloaded_by_account")),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"], name=op.f("fk_production_target_id_target")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production")),
    )
    with op.batch_alter_table("production", schema=None) as batch_op:
        batch_op.create_index("ix_production_demand_id", ["demand_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("production", schema=None) as batch_op:
        batch_op.drop_index("ix_production_demand_id")
    op.drop_table("production")
    with op.batch_alter_table("authority", schema=None) as batch_op:
        batch_op.drop_column("age_recipient")

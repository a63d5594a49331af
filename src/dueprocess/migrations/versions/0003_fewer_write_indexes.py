"""drop three indexes that every intake paid for and no query needs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:10:00

- ``uq_audit_event_hash``: each event's hash covers its ``seq`` (the primary key) and the
  previous hash, so two events cannot share one without a SHA-256 collision; the verifier,
  not a constraint, is what proves the chain. The index was the costliest write of intake:
  64 random hex characters per event, inserted while the writers' lock is held, so it
  serialised every writer (bench/intake_rows_ceiling.py: 14,300 -> 19,000 demands/s).
- ``ix_demand_authority_id``: the leading column of ``ix_demand_authority_received``.
- ``ix_target_demand_id``: the leading column of ``uq_target_item``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_constraint("uq_audit_event_hash", type_="unique")
    with op.batch_alter_table("demand") as batch_op:
        batch_op.drop_index("ix_demand_authority_id")
    with op.batch_alter_table("target") as batch_op:
        batch_op.drop_index("ix_target_demand_id")


def downgrade() -> None:
    with op.batch_alter_table("target") as batch_op:
        batch_op.create_index("ix_target_demand_id", ["demand_id"], unique=False)
    with op.batch_alter_table("demand") as batch_op:
        batch_op.create_index("ix_demand_authority_id", ["authority_id"], unique=False)
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.create_unique_constraint("uq_audit_event_hash", ["hash"])

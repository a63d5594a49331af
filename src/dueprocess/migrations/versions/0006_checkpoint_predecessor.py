"""audit checkpoints name the checkpoint before them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

A checkpoint now signs ``prev_seq`` and ``prev_head``, the checkpoint before it in the log
(issue 19), so deleting one shows. Checkpoints already stored keep NULL there: they were
signed without them (v1) and are still verified as such (docs/audit-format.md).
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
    with op.batch_alter_table("audit_checkpoint") as batch_op:
        batch_op.add_column(sa.Column("prev_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_head", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoint") as batch_op:
        batch_op.drop_column("prev_head")
        batch_op.drop_column("prev_seq")

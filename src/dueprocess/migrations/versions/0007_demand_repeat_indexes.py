"""index what a repeated demand is looked up by: an authority's references and request hashes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:00:00

Intake refuses a demand that repeats an earlier one of the same authority: the same
reference, or the same content (request hash) within 30 days, unless the submitter confirms
it is new (``dueprocess.intake.record.Repeats``). Each group of submissions looks the
earlier ones up in one query, one index probe per reference or hash. The indexes lead with
the reference and the hash, not the authority: a query naming the authority let the
planner, without statistics, read all of that authority's demands instead (see
``_REPEATS_ON_POSTGRESQL``). The request hash covers the reference, so two demands with the
same content have the same reference, which already finds them: only demands without a
reference are looked up by their hash, and only they are in that (partial) index, which
demands with a reference, most of them, do not pay for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("demand") as batch_op:
        batch_op.create_index("ix_demand_reference", ["reference", "authority_id"], unique=False)
        batch_op.create_index(
            "ix_demand_request_hash",
            ["request_hash"],
            unique=False,
            postgresql_where=sa.text("reference IS NULL"),
            sqlite_where=sa.text("reference IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("demand") as batch_op:
        batch_op.drop_index("ix_demand_request_hash")
        batch_op.drop_index("ix_demand_reference")

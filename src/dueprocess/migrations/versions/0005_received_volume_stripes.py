"""the hourly volume counted in stripes, so concurrent intake does not queue on one row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:20:00

Every intake transaction adds its demands to ``received_volume`` just before it commits.
With one row per authority and hour, two transactions receiving demands from the same
authority at the same time queued on that row until the first committed (under load about
a tenth of a batch's time was spent waiting there). Each writer now adds to one of
``STRIPES`` rows for the hour, picked at random, and readers sum them. Existing counts
become stripe 0.
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
    with op.batch_alter_table("received_volume") as batch_op:
        batch_op.add_column(
            sa.Column("stripe", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("pk_received_volume", type_="primary")
        batch_op.create_primary_key("pk_received_volume", ["authority_id", "hour", "stripe"])


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT authority_id, hour, sum(received) FROM received_volume "
            "GROUP BY authority_id, hour"
        )
    ).all()
    op.execute("DELETE FROM received_volume")
    with op.batch_alter_table("received_volume") as batch_op:
        batch_op.drop_constraint("pk_received_volume", type_="primary")
        batch_op.drop_column("stripe")
        batch_op.create_primary_key("pk_received_volume", ["authority_id", "hour"])
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO received_volume (authority_id, hour, received) "
                "VALUES (:authority_id, :hour, :received)"
            ),
            [{"authority_id": a, "hour": h, "received": n} for a, h, n in rows],
        )

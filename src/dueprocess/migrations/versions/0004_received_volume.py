"""demands received per authority and hour, for the volume signal

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:25:00

Requester verification compares an authority's demands of the last 24 hours with its usual
volume. It used to count them in ``demand`` on every intake transaction, a scan that grows
with the authority's demands (44 ms per transaction at 120,000 in the window). It now reads
``received_volume``: one row per authority and hour of receipt, kept by intake. This
revision creates the table and fills it from the demands already stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dueprocess.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR = {
    # The hour of receipt in UTC, in the form each database stores a UTCDateTime.
    "postgresql": "date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', received_at)",
}


def upgrade() -> None:
    op.create_table(
        "received_volume",
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("hour", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authority.id"],
            name=op.f("fk_received_volume_authority_id_authority"),
        ),
        sa.PrimaryKeyConstraint("authority_id", "hour", name=op.f("pk_received_volume")),
    )
    hour = _HOUR[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO received_volume (authority_id, hour, received) "  # noqa: S608 - constants
        f"SELECT authority_id, {hour}, count(*) FROM demand GROUP BY authority_id, {hour}"
    )


def downgrade() -> None:
    op.drop_table("received_volume")

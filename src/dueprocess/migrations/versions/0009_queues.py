"""queues: the order every review queue is read in, assignment, and full-text search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:10:00

- ``demand.emergency``: an emergency disclosure or a demand under the emergency process,
  read from the kind and process (fixed at intake). Queues put emergencies first; as a
  column it leads the queue index instead of an expression each database indexes its own
  way.
- ``demand.due_at`` becomes NOT NULL (every demand has a due time since 0006; any left
  without one get it here, by 0006's rule): a cursor compares ``(due_at, id)`` pairs, and
  a NULL there compares as unknown, which would drop rows from a queue's later pages.
- ``ix_demand_queue (status, emergency, due_at, id)``: a queue page is one range of it,
  whatever page. ``ix_demand_assignee_queue``: the same per assignee, assigned demands only.
- ``demand_search``: each demand's reference, summary and targets folded, and their words
  (``dueprocess.review.search``), with a GIN index on PostgreSQL; filled here for demands
  already stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dueprocess.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOURS = {  # 0006's rule, as of that migration
    "emergency-disclosure": 4,
    "preservation": 48,
    "removal": 72,
    "geo-restriction": 72,
    "account-restriction": 72,
    "user-data": 336,
    "decryption": 336,
    "interception": 336,
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "demand_search",
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(["demand_id"], ["demand.id"], name=op.f("fk_demand_search_demand_id_demand")),
        sa.PrimaryKeyConstraint("demand_id", name=op.f("pk_demand_search")),
    )
    _due_everywhere()
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.alter_column("due_at", existing_type=dueprocess.db.UTCDateTime(timezone=True), nullable=False)
    demand = sa.table("demand", sa.column("emergency", sa.Boolean), sa.column("kind", sa.String), sa.column("legal_process", sa.String))
    op.execute(
        demand.update()
        .where((demand.c.kind == "emergency-disclosure") | (demand.c.legal_process == "emergency"))
        .values(emergency=True)
    )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.create_index("ix_demand_queue", ["status", "emergency", "due_at", "id"], unique=False)
        batch_op.create_index(
            "ix_demand_assignee_queue",
            ["assignee_id", "status", "emergency", "due_at", "id"],
            unique=False,
            postgresql_where=sa.text("assignee_id IS NOT NULL"),
            sqlite_where=sa.text("assignee_id IS NOT NULL"),
        )
    _fill_search()
    if postgres:
        op.create_index("ix_demand_search_terms", "demand_search", ["terms"], postgresql_using="gin")
        op.create_index(
            "ix_demand_search_untermed", "demand_search", ["demand_id"], postgresql_where=sa.text("terms IS NULL")
        )


def _due_everywhere() -> None:
    """Any demand still without a due time gets one by 0006's rule (there should be none)."""
    demand = sa.table(
        "demand",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("received_at", dueprocess.db.UTCDateTime(timezone=True)),
        sa.column("deadline", dueprocess.db.UTCDateTime(timezone=True)),
        sa.column("due_at", dueprocess.db.UTCDateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(demand.c.id, demand.c.kind, demand.c.received_at, demand.c.deadline).where(demand.c.due_at.is_(None))
    ).all()
    if not rows:
        return
    update = demand.update().where(demand.c.id == sa.bindparam("b_id")).values(due_at=sa.bindparam("due"))
    updates = []
    for demand_id, kind, received_at, deadline in rows:
        target = received_at + timedelta(hours=_HOURS.get(kind, 336))
        updates.append({"b_id": demand_id, "due": min(deadline, target) if deadline else target})
    bind.execute(update, updates)


def _fill_search() -> None:
    """The search row of every demand already stored, in pages by id. Uses the application's
    own folding (``dueprocess.review.search.document``): the rows must be what intake writes."""
    from dueprocess.review.search import document

    demand = sa.table("demand", sa.column("id", sa.Integer), sa.column("reference", sa.String), sa.column("summary", sa.Text))
    target = sa.table("target", sa.column("demand_id", sa.Integer), sa.column("position", sa.Integer), sa.column("identifier", sa.String))
    terms = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
    search = sa.table("demand_search", sa.column("demand_id", sa.Integer), sa.column("text", sa.Text), sa.column("terms", terms))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(demand.c.id, demand.c.reference, demand.c.summary)
            .where(demand.c.id > last)
            .order_by(demand.c.id)
            .limit(5_000)
        ).all()
        if not rows:
            return
        ids = [r[0] for r in rows]
        targets: dict[int, list[str]] = {}
        for demand_id, identifier in bind.execute(
            sa.select(target.c.demand_id, target.c.identifier)
            .where(target.c.demand_id.in_(ids))
            .order_by(target.c.demand_id, target.c.position)
        ):
            targets.setdefault(demand_id, []).append(identifier)
        values = []
        for demand_id, reference, summary in rows:
            doc = document(reference, summary or "", targets.get(demand_id, []))
            values.append({"demand_id": demand_id, "text": doc.text, "terms": doc.terms})
        bind.execute(sa.insert(search), values)
        last = ids[-1]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_demand_search_untermed", table_name="demand_search")
        op.drop_index("ix_demand_search_terms", table_name="demand_search")
    op.drop_table("demand_search")
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_assignee_queue")
        batch_op.drop_index("ix_demand_queue")
        batch_op.alter_column("due_at", existing_type=dueprocess.db.UTCDateTime(timezone=True), nullable=True)
        batch_op.drop_column("emergency")

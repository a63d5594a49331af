"""audit events chained at COMMIT by a deferred trigger on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:40:00

Before this revision every PostgreSQL writer took the audit lock, read the head, hashed in
Python and inserted, then committed: the lock was held across two client round trips and
two waits for the interpreter, which capped the whole service's write rate near 200
transactions a second. Now the writer inserts into ``audit_staging`` without any lock and
the constraint trigger below chains the events during ``COMMIT``, inside the server.

The canonical form hashed is unchanged (docs/audit-format.md): the writer supplies it split
around ``"prev":...,"seq":...,``, the only part the trigger fills in. The lock key is the
writers' advisory lock of :mod:`dueprocess.audit.service` (``_PG_LOCK_KEY``); a test checks
they agree. SQLite is left as it was: its writers already hold the database's one write lock.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dueprocess.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_KEY = 28276576209760099  # dueprocess.audit.service._PG_LOCK_KEY

CHAIN_FUNCTION = f"""
CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash varchar(64);
    new_hash varchar(64);
BEGIN
    -- Held until the transaction ends: the next writer reads the head only after our COMMIT.
    -- Under READ COMMITTED the SELECT below takes its snapshot after the lock is granted.
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    SELECT seq, hash INTO last_seq, last_hash FROM audit_event ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        last_seq := 0;
        last_hash := repeat('0', 64);
    END IF;
    new_hash := encode(sha256(
        NEW.head
        || convert_to('"prev":"' || last_hash || '","seq":' || (last_seq + 1)::text || ',', 'UTF8')
        || NEW.tail), 'hex');
    INSERT INTO audit_event (seq, at, actor, action, subject, data, prev, hash)
    VALUES (last_seq + 1, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.data, last_hash, new_hash);
    DELETE FROM audit_staging WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_staging",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", dueprocess.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("head", sa.LargeBinary(), nullable=False),
        sa.Column("tail", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_staging")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_staging SET UNLOGGED")
        op.execute(CHAIN_FUNCTION)
        op.execute(
            "CREATE CONSTRAINT TRIGGER audit_chain AFTER INSERT ON audit_staging "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_chain ON audit_staging")
        op.execute("DROP FUNCTION audit_chain()")
    op.drop_table("audit_staging")

"""Sync with a shared registry: the local outbox and sync state, the registry's record of
applied outbox entries (exactly-once replay).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("op", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_sync_outbox"),
        sa.UniqueConstraint("id", name="uq_sync_outbox_id"),
    )
    op.create_index("ix_sync_outbox_status_seq", "sync_outbox", ["status", "seq"])
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_sync_state"),
    )
    op.create_table(
        "sync_applied",
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("op", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("applied_by", sa.String(255), nullable=False),
        sa.Column("applied_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_sync_applied"),
    )
    op.create_index("ix_sync_applied_origin_applied_at", "sync_applied", ["origin", "applied_at"])


def downgrade() -> None:
    op.drop_table("sync_applied")
    op.drop_table("sync_state")
    op.drop_table("sync_outbox")

"""Items: the signals of one file within a case, and the join table linking items to entries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("media", sa.String(8), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.UniqueConstraint("case_id", "fingerprint", name="uq_item"),
    )
    op.create_table(
        "item_entries",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), primary_key=True),
    )
    op.create_index("ix_item_entries_entry_id", "item_entries", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_item_entries_entry_id", table_name="item_entries")
    op.drop_table("item_entries")
    op.drop_table("items")

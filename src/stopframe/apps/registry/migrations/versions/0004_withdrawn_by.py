"""Entries remember who withdrew them, so a case cannot undo an operator's withdrawal.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("withdrawn_by", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("entries", "withdrawn_by")

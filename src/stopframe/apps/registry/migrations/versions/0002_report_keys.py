"""Idempotency keys on match reports: a nullable `report_key`, unique per API key.

A unique index rather than a table constraint: SQLite adds it without rebuilding the table, and
on both databases NULLs (reports sent one at a time, without a key) never collide.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("report_key", sa.String(64), nullable=True))
    op.create_index("uq_reports_key", "reports", ["api_key_id", "report_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_reports_key", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("report_key")

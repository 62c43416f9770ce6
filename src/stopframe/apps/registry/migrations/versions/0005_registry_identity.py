"""The registry's identity in its signed lists: a random id made once, and an epoch that every
restore from backup raises (both kept as counters rows, beside the feed sequence).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def upgrade() -> None:
    op.bulk_insert(
        counters,
        [{"name": "registry_id", "value": secrets.randbits(63)}, {"name": "epoch", "value": 1}],
    )


def downgrade() -> None:
    op.execute(counters.delete().where(counters.c.name.in_(["registry_id", "epoch"])))

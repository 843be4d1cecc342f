"""uptime daily rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "component_day",
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("operational_us", sa.BigInteger(), nullable=False),
        sa.Column("under_maintenance_us", sa.BigInteger(), nullable=False),
        sa.Column("degraded_performance_us", sa.BigInteger(), nullable=False),
        sa.Column("partial_outage_us", sa.BigInteger(), nullable=False),
        sa.Column("major_outage_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["component_id"], ["component.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("component_id", "day"),
    )


def downgrade() -> None:

    op.drop_table("component_day")

"""probe latency in 5-minute buckets for public charts, and the probes that opt in

Revision ID: 0260_probe_latency
Revises: 0250_incident_change_indexes
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0260_probe_latency"
down_revision: str | None = "0250_incident_change_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe_latency",
        sa.Column("probe", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
        sa.Column("min_ms", sa.Float(), nullable=False),
        sa.Column("max_ms", sa.Float(), nullable=False),
        sa.Column("bins", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("probe", "series", "at"),
    )
    with op.batch_alter_table("probe_state") as batch_op:
        batch_op.add_column(
            sa.Column("public_latency", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("probe_state") as batch_op:
        batch_op.drop_column("public_latency")
    op.drop_table("probe_latency")

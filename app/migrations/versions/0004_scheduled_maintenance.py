"""scheduled maintenance

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("scheduled_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("scheduled_remind_prior", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("scheduled_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "scheduled_auto_in_progress",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "scheduled_auto_completed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "auto_transition_to_maintenance_state",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "auto_transition_to_operational_state",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.create_index(
            batch_op.f("ix_incident_scheduled_for"), ["scheduled_for"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_scheduled_for"))
        batch_op.drop_column("auto_transition_to_operational_state")
        batch_op.drop_column("auto_transition_to_maintenance_state")
        batch_op.drop_column("scheduled_auto_completed")
        batch_op.drop_column("scheduled_auto_in_progress")
        batch_op.drop_column("scheduled_reminded_at")
        batch_op.drop_column("scheduled_remind_prior")
        batch_op.drop_column("scheduled_until")
        batch_op.drop_column("scheduled_for")

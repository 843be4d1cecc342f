"""delivery in order per subscriber: the event's subject and the subscriber's queue index

Revision ID: 0180_delivery_order
Revises: 0170
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0180_delivery_order"
down_revision: str | None = "0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_event") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index(
            "ix_delivery_queue", ["subscriber_id", "status", "event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_index("ix_delivery_queue")
    with op.batch_alter_table("outbox_event") as batch_op:
        batch_op.drop_column("subject")

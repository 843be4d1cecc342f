"""the due-deliveries index in claim order (status, next_attempt_at, event_id)

A claim takes the oldest due deliveries first; with event_id in the index the database walks
them in order and stops at the batch size, instead of sorting every pending delivery of a
fan-out for each claim.

Revision ID: 0270_delivery_due_order
Revises: 0260_probe_latency
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0270_delivery_due_order"
down_revision: str | None = "0260_probe_latency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"])

"""subscribers who are people: a channel (email, chat apps), confirmation, one incident

Revision ID: 0210_people_subscribers
Revises: 0200_reliability
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0210_people_subscribers"
down_revision: str | None = "0200_reliability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ("webhook", "email", "slack", "teams", "discord", "google_chat", "mattermost")


def upgrade() -> None:
    with op.batch_alter_table("subscriber") as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel",
                sa.Enum(*CHANNELS, name="subscriberchannel", native_enum=False, length=32),
                server_default="webhook",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("incident_id", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_subscriber_incident_id_incident",
            "incident",
            ["incident_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriber") as batch_op:
        batch_op.drop_constraint("fk_subscriber_incident_id_incident", type_="foreignkey")
        batch_op.drop_column("confirmation_sent_at")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("incident_id")
        batch_op.drop_column("channel")

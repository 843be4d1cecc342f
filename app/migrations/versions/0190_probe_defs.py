"""probes managed in the API and admin UI; maintenance silence; backend certificate expiry

Revision ID: 0190_probe_defs
Revises: 0180_delivery_order
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0190_probe_defs"
down_revision: str | None = "0180_delivery_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe_definition",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        info={"data_version": False},
    )
    with op.batch_alter_table("probe_state") as batch:
        batch.add_column(sa.Column("silenced_by", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("cert_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cert_subject", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("probe_state") as batch:
        batch.drop_column("cert_subject")
        batch.drop_column("cert_expires_at")
        batch.drop_column("silenced_by")
    op.drop_table("probe_definition")

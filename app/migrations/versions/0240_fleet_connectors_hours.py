"""fleet connectors and opening hours: each EVSE's connectors (its power follows theirs, and
the receiver takes connector-level pushes), each location's OCPI opening_times (regulation
7(5): a charger closed with its site is not unreliable then)

Revision ID: 0240_fleet_connectors_hours
Revises: 0230_rate_hits
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0240_fleet_connectors_hours"
down_revision: str | None = "0230_rate_hits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fleet_evse") as batch:
        batch.add_column(sa.Column("connectors", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("fleet_location") as batch:
        batch.add_column(sa.Column("opening_times", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fleet_location") as batch:
        batch.drop_column("opening_times")
    with op.batch_alter_table("fleet_evse") as batch:
        batch.drop_column("connectors")

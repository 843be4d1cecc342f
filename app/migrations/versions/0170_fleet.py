"""the charger fleet: OCPI peers, locations, EVSEs, status history, areas; incident impact

Revision ID: 0170
Revises: 0150
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0170"
down_revision: str | None = "0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fleet_area",
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "fleet_evse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_since", UTC_TIME, nullable=False),
        sa.Column("last_updated", UTC_TIME, nullable=False),
        sa.Column("max_power_kw", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("peer", "location_id", "uid"),
    )
    op.create_table(
        "fleet_location",
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=45), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("operator", sa.String(length=255), nullable=True),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("last_updated", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("peer", "id"),
    )
    op.create_table(
        "fleet_peer",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_c", sa.String(length=255), nullable=True),
        sa.Column("token_b_hash", sa.String(length=64), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("party_id", sa.String(length=3), nullable=True),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("registered_at", UTC_TIME, nullable=True),
        sa.Column("synced_to", UTC_TIME, nullable=True),
        sa.Column("full_read_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("name"),
        info={"data_version": False},
    )
    op.create_index("ix_fleet_peer_token_b_hash", "fleet_peer", ["token_b_hash"], unique=False)
    op.create_table(
        "evse_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["evse_id"], ["fleet_evse.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        info={"data_version": False},
    )
    op.create_index(
        "ix_evse_status_change_evse_at", "evse_status_change", ["evse_id", "at"], unique=False
    )
    with op.batch_alter_table("incident") as batch_op:
        batch_op.add_column(sa.Column("chargers_affected", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chargers_total", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch_op:
        batch_op.drop_column("chargers_total")
        batch_op.drop_column("chargers_affected")
    op.drop_index("ix_evse_status_change_evse_at", table_name="evse_status_change")
    op.drop_table("evse_status_change")
    op.drop_index("ix_fleet_peer_token_b_hash", table_name="fleet_peer")
    op.drop_table("fleet_peer")
    op.drop_table("fleet_location")
    op.drop_table("fleet_evse")
    op.drop_table("fleet_area")

"""the page's brand as staff set it in the admin UI (falls back to PHAROS_BRAND_*)

Revision ID: 0300_brand_setting
Revises: 0290_fleet_evse_status_index
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0300_brand_setting"
down_revision: str | None = "0290_fleet_evse_status_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brand_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("logo_dark_url", sa.String(length=2000), nullable=True),
        sa.Column("favicon_url", sa.String(length=2000), nullable=True),
        sa.Column("accent", sa.String(length=7), nullable=True),
        sa.Column("footer_links", sa.JSON(), nullable=False),
        sa.Column("custom_css", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("brand_setting")

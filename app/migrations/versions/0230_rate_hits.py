"""rate limits shared by replicas: one row per accepted attempt, keyed by a hash

Revision ID: 0230_rate_hits
Revises: 0220_update_translations
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0230_rate_hits"
down_revision: str | None = "0220_update_translations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        info={"data_version": False},
    )
    with op.batch_alter_table("rate_hit", schema=None) as batch_op:
        batch_op.create_index("ix_rate_hit_kind_key_at", ["kind", "key", "at"], unique=False)
        batch_op.create_index("ix_rate_hit_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_hit", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_hit_at")
        batch_op.drop_index("ix_rate_hit_kind_key_at")
    op.drop_table("rate_hit")

"""data version per topic: the version at which component status, incidents, components and
everything else last changed (app.data_version.TOPICS)

Revision ID: 0310_data_version_topics
Revises: 0300_brand_setting
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0310_data_version_topics"
down_revision: str | None = "0300_brand_setting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("status_at", "incidents_at", "components_at", "other_at")


def upgrade() -> None:
    with op.batch_alter_table("data_version") as batch:
        for name in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("1"))
            )
    # Every topic changed as of now: nothing rendered before this knows otherwise.
    table = sa.table("data_version", sa.column("version"), *(sa.column(n) for n in COLUMNS))
    op.execute(table.update().values(dict.fromkeys(COLUMNS, table.c.version)))


def downgrade() -> None:
    with op.batch_alter_table("data_version") as batch:
        for name in COLUMNS:
            batch.drop_column(name)

"""incident updates in several languages: the body by language code

Revision ID: 0220_update_translations
Revises: 0210_people_subscribers
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0220_update_translations"
down_revision: str | None = "0210_people_subscribers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident_update") as batch_op:
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident_update") as batch_op:
        batch_op.drop_column("translations")

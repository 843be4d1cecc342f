"""incident source slug (incidents as code)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_slug", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint("uq_incident_source_slug", ["source_slug"])


def downgrade() -> None:

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_constraint("uq_incident_source_slug", type_="unique")
        batch_op.drop_column("source_slug")

"""import keys: objects brought in from another service (pharos import statuspage)

Revision ID: 0150
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0150"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_key",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("pharos_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "kind", "external_id"),
        info={"data_version": False},
    )
    op.create_index(op.f("ix_import_key_pharos_id"), "import_key", ["pharos_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_key_pharos_id"), table_name="import_key")
    op.drop_table("import_key")

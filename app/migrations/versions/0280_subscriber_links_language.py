"""signed subscriber links and the subscriber's language

app_secret holds keys the installation made for itself: the key subscriber links are signed
with (unless PHAROS_SECRET_KEY is set), made here once. subscriber.language is the page
language a person subscribed from; their messages are written in it.

Revision ID: 0280_subscriber_links_language
Revises: 0270_delivery_due_order
Create Date: 2026-12-01
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0280_subscriber_links_language"
down_revision: str | None = "0270_delivery_due_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "app_secret",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(table, [{"name": "subscriber_links", "value": secrets.token_urlsafe(32)}])
    with op.batch_alter_table("subscriber") as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriber") as batch_op:
        batch_op.drop_column("language")
    op.drop_table("app_secret")

"""incident.automated: probes own an incident's story until a person posts an update

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("automated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Until now the audit log told it: a probe opened the incident and no person posted on it.
    op.execute(
        """
        UPDATE incident SET automated = TRUE
        WHERE id IN (SELECT object_id FROM audit_event
                     WHERE object_type = 'incident' AND action = 'incident.opened'
                       AND actor LIKE 'probe:%')
          AND id NOT IN (SELECT object_id FROM audit_event
                         WHERE object_type = 'incident' AND action = 'incident.update_posted'
                           AND actor NOT LIKE 'probe:%')
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("automated")

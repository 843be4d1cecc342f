"""incident indexes for the public answers: updated_at (the page's last change) and
resolved_at (incidents open in an uptime window)

Revision ID: 0250_incident_change_indexes
Revises: 0240_fleet_connectors_hours
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0250_incident_change_indexes"
down_revision: str | None = "0240_fleet_connectors_hours"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incident_updated_at", "incident", ["updated_at"])
    op.create_index("ix_incident_resolved_at", "incident", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_resolved_at", table_name="incident")
    op.drop_index("ix_incident_updated_at", table_name="incident")

"""probes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        info={"data_version": False},
    )
    op.create_table(
        "probe_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error_classes", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        info={"data_version": False},
    )
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probe_result_at"), ["at"], unique=False)
        batch_op.create_index("ix_probe_result_probe_at", ["probe", "at"], unique=False)

    op.create_table(
        "probe_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=True),
        sa.Column("backend_group", sa.String(length=128), nullable=False),
        sa.Column(
            "active",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "pending",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("pending_count", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_status",
            sa.Enum(
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                name="componentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_error_classes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["component_id"], ["component.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("name"),
        info={"data_version": False},
    )
    with op.batch_alter_table("probe_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_probe_state_backend_group"), ["backend_group"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("probe_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probe_state_backend_group"))

    op.drop_table("probe_state")
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.drop_index("ix_probe_result_probe_at")
        batch_op.drop_index(batch_op.f("ix_probe_result_at"))

    op.drop_table("probe_result")
    op.drop_table("probe_lease")

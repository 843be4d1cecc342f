"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_object_id"), ["object_id"], unique=False)

    op.create_table(
        "component",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
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
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("showcase", sa.Boolean(), nullable=False),
        sa.Column("only_show_if_degraded", sa.Boolean(), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["component.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("component", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_component_group_id"), ["group_id"], unique=False)

    op.create_table(
        "incident",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem",
                name="incidentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "impact",
            sa.Enum(
                "none", "minor", "major", "critical", name="impact", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "impact_override",
            sa.Enum(
                "none", "minor", "major", "critical", name="impact", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monitoring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("postmortem_body", sa.Text(), nullable=True),
        sa.Column("postmortem_body_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("postmortem_published_body", sa.Text(), nullable=True),
        sa.Column("postmortem_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)

    op.create_table(
        "component_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column(
            "old_status",
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
        sa.Column(
            "new_status",
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
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(["component_id"], ["component.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("component_status_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_change_component_time", ["component_id", "effective_at"], unique=False
        )

    op.create_table(
        "incident_update",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem",
                name="incidentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("display_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliver_notifications", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_update_incident_display", ["incident_id", "display_at"], unique=False
        )

    op.create_table(
        "affected_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_update_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=520), nullable=False),
        sa.Column(
            "old_status",
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
        sa.Column(
            "new_status",
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
        sa.ForeignKeyConstraint(["incident_update_id"], ["incident_update.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("affected_component", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_affected_component_component_id"), ["component_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_affected_component_incident_update_id"),
            ["incident_update_id"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("affected_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_affected_component_incident_update_id"))
        batch_op.drop_index(batch_op.f("ix_affected_component_component_id"))

    op.drop_table("affected_component")
    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_update_incident_display")

    op.drop_table("incident_update")
    with op.batch_alter_table("component_status_change", schema=None) as batch_op:
        batch_op.drop_index("ix_status_change_component_time")

    op.drop_table("component_status_change")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_started_at"))

    op.drop_table("incident")
    with op.batch_alter_table("component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_component_group_id"))

    op.drop_table("component")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_object_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
    op.drop_table("api_token")

"""Maintenances in Statuspage's shape: the incident object plus its schedule."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from app.incidents.present import present_incident
from app.incidents.read import IncidentDetail
from app.incidents.schemas import IncidentPublic
from app.schemas import ApiTime


class MaintenancePublic(IncidentPublic):
    """A scheduled maintenance: an incident with scheduled_for/until and its automation."""

    scheduled_for: ApiTime | None
    scheduled_until: ApiTime | None
    scheduled_remind_prior: int | None
    scheduled_reminded_at: ApiTime | None
    scheduled_auto_in_progress: bool
    scheduled_auto_completed: bool
    auto_transition_to_maintenance_state: bool
    auto_transition_to_operational_state: bool


def _at(value: datetime | None, tz: tzinfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def present_maintenance(
    detail: IncidentDetail, *, page_id: str, public_url: str, tz: tzinfo = UTC
) -> MaintenancePublic:
    """One maintenance with its updates newest first.

    Its `started_at` is when it was announced (created), as on Statuspage, not its window's
    start: that is `scheduled_for`.
    """
    base = present_incident(detail, page_id=page_id, public_url=public_url, tz=tz)
    m = detail.incident
    return MaintenancePublic(
        **{**base.model_dump(), "started_at": m.created_at.astimezone(tz)},
        scheduled_for=_at(m.scheduled_for, tz),
        scheduled_until=_at(m.scheduled_until, tz),
        scheduled_remind_prior=m.scheduled_remind_prior,
        scheduled_reminded_at=_at(m.scheduled_reminded_at, tz),
        scheduled_auto_in_progress=m.scheduled_auto_in_progress,
        scheduled_auto_completed=m.scheduled_auto_completed,
        auto_transition_to_maintenance_state=m.auto_transition_to_maintenance_state,
        auto_transition_to_operational_state=m.auto_transition_to_operational_state,
    )

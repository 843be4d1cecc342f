"""Turning incidents into Statuspage-shaped objects."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from app.components.present import present_components
from app.incidents.read import IncidentDetail
from app.incidents.schemas import (
    AffectedComponentPublic,
    ChargersImpact,
    IncidentPublic,
    IncidentUpdatePublic,
    chargers_text,
)
from app.models import Incident


def page_path(incident: Incident) -> str:
    """The public page of an incident or a maintenance (shortlinks and feeds link it)."""
    kind = "maintenance" if incident.scheduled_for is not None else "incidents"
    return f"/{kind}/{incident.id}"


def page_folder(incident: Incident) -> str:
    """The page's canonical path: a folder, so a static copy serves it as index.html."""
    return f"{page_path(incident)}/"


def chargers_impact(incident: Incident) -> ChargersImpact | None:
    """The incident's structured impact in chargers, if it has one."""
    affected, total = incident.chargers_affected, incident.chargers_total
    if affected is None or total is None:
        return None
    return ChargersImpact(affected=affected, total=total, text=chargers_text(affected, total))


def _at(value: datetime | None, tz: tzinfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def present_incident(
    detail: IncidentDetail, *, page_id: str, public_url: str, tz: tzinfo = UTC
) -> IncidentPublic:
    """One incident with updates newest first; times in tz (the page's zone in v2, UTC in v1)."""
    i = detail.incident
    updates = [
        IncidentUpdatePublic(
            id=u.id,
            status=u.status,
            body=u.body,
            incident_id=i.id,
            created_at=u.created_at.astimezone(tz),
            updated_at=u.updated_at.astimezone(tz),
            display_at=u.display_at.astimezone(tz),
            affected_components=[
                AffectedComponentPublic(
                    code=a.component_id,
                    name=a.name,
                    old_status=a.old_status,
                    new_status=a.new_status,
                )
                for a in detail.affected.get(u.id, [])
            ]
            or None,
            deliver_notifications=u.deliver_notifications,
        )
        for u in detail.updates
    ]
    return IncidentPublic(
        id=i.id,
        name=i.name,
        status=i.status,
        created_at=i.created_at.astimezone(tz),
        updated_at=i.updated_at.astimezone(tz),
        monitoring_at=_at(i.monitoring_at, tz),
        resolved_at=_at(i.resolved_at, tz),
        impact=i.impact,
        impact_override=i.impact_override,
        shortlink=f"{public_url}{page_path(i)}",
        started_at=i.started_at.astimezone(tz),
        page_id=page_id,
        backfilled=i.backfilled,
        postmortem_body=i.postmortem_body,
        postmortem_body_last_updated_at=_at(i.postmortem_body_updated_at, tz),
        postmortem_published_at=_at(i.postmortem_published_at, tz),
        incident_updates=updates,
        components=present_components(detail.components, page_id=page_id, tz=tz),
        chargers=chargers_impact(i),
    )

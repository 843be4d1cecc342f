"""Statuspage-compatible webhook bodies, snapshotted when the event happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.components import present as component_present
from app.config import Settings
from app.incidents import read
from app.incidents.present import present_incident
from app.models import (
    Component,
    ComponentStatusChange,
    Incident,
)

DOCUMENTATION = "https://github.com/pharos-status/pharos#webhooks"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def page_block(session: Session, settings: Settings) -> dict[str, str]:
    """The `page` object: id and the current status indicator and description."""
    indicator, description = read.page_status(session)
    return {
        "id": settings.page_id,
        "status_indicator": indicator,
        "status_description": description,
    }


def incident_payload(session: Session, settings: Settings, incident: Incident) -> dict[str, Any]:
    """`page` + `incident` as Statuspage's incident webhooks carry them."""
    (detail,) = read.load_details(session, [incident])
    public = present_incident(detail, page_id=settings.page_id, public_url=settings.public_url)
    body = public.model_dump(mode="json")
    for update in body["incident_updates"]:
        update.update({"wants_twitter_update": False, "twitter_updated_at": None})
    body.update(
        {
            # Subscribers see what is published, never the draft.
            "postmortem_body": incident.postmortem_published_body,
            "postmortem_ignored": False,
            "postmortem_notified_subscribers": incident.postmortem_published_at is not None,
            "postmortem_notified_twitter": False,
            "scheduled_for": _iso(incident.scheduled_for),
            "scheduled_until": _iso(incident.scheduled_until),
            "scheduled_remind_prior": bool(incident.scheduled_remind_prior),
            "scheduled_reminded_at": _iso(incident.scheduled_reminded_at),
            "scheduled_auto_in_progress": incident.scheduled_auto_in_progress,
            "scheduled_auto_completed": incident.scheduled_auto_completed,
        }
    )
    return {"page": page_block(session, settings), "incident": body}


def component_payload(
    session: Session, settings: Settings, component: Component, change: ComponentStatusChange
) -> dict[str, Any]:
    """`page` + `component` + `component_update` as Statuspage's component webhooks carry them."""
    (public,) = component_present.present_components([component], page_id=settings.page_id)
    component_body = public.model_dump(mode="json", exclude={"components"})
    return {
        "page": page_block(session, settings),
        "component": component_body,
        "component_update": {
            "old_status": change.old_status.value,
            "new_status": change.new_status.value,
            "created_at": _iso(change.recorded_at),
            "component_type": "Component",
            "id": str(change.id),
            "component_id": component.id,
        },
    }


def envelope(
    *, event_type: str, payload: dict[str, Any], generated_at: datetime, unsubscribe_url: str
) -> dict[str, Any]:
    """The whole body for one subscriber: type, meta (with its unsubscribe link), payload."""
    return {
        "type": event_type,
        "meta": {
            "unsubscribe": unsubscribe_url,
            "documentation": DOCUMENTATION,
            "generated_at": _iso(generated_at),
        },
        **payload,
    }

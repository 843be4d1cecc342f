"""What the incidents domain tells subscribers (incident.* and maintenance.*): built here, in
Statuspage's webhook shape, and handed to the outbox in the transaction of the change.

History is not news: nothing is ever sent for a backfilled incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.components import events as component_events
from app.components import read as component_read
from app.config import Settings
from app.incidents import read
from app.incidents.present import present_incident
from app.models import Incident
from app.notifications import outbox
from app.timefmt import iso_or_none


def _webhook_update(update: dict[str, Any]) -> dict[str, Any]:
    """An incident update as Statuspage's webhooks carry it (their keys, their order)."""
    return {
        "status": update["status"],
        "body": update["body"],
        "created_at": update["created_at"],
        "wants_twitter_update": False,
        "twitter_updated_at": None,
        "updated_at": update["updated_at"],
        "display_at": update["display_at"],
        "affected_components": update["affected_components"],
        "custom_tweet": None,
        "deliver_notifications": update["deliver_notifications"],
        "id": update["id"],
        "incident_id": update["incident_id"],
    }


def incident_payload(session: Session, settings: Settings, incident: Incident) -> dict[str, Any]:
    """`page` + `incident` as Statuspage's incident webhooks carry them: exactly their keys,
    in their order (zulip's captured fixtures, ../shared/reference), times in UTC."""
    (detail,) = read.load_details(session, [incident])
    public = present_incident(detail, page_id=settings.page_id, public_url=settings.public_url)
    body = public.model_dump(mode="json")
    published = incident.postmortem_published_at
    payload = {
        "page": component_events.page_block(session, settings),
        "incident": {
            "name": body["name"],
            "status": body["status"],
            "created_at": body["created_at"],
            "updated_at": body["updated_at"],
            "monitoring_at": body["monitoring_at"],
            "resolved_at": body["resolved_at"],
            "impact": body["impact"],
            "shortlink": body["shortlink"],
            "postmortem_ignored": False,
            # Subscribers see what is published, never the draft (nor when it was last saved).
            "postmortem_body": incident.postmortem_published_body,
            "postmortem_body_last_updated_at": iso_or_none(published),
            "postmortem_published_at": iso_or_none(published),
            "postmortem_notified_subscribers": published is not None,
            "postmortem_notified_twitter": False,
            "backfilled": incident.backfilled,
            "scheduled_for": iso_or_none(incident.scheduled_for),
            "scheduled_until": iso_or_none(incident.scheduled_until),
            "scheduled_remind_prior": bool(incident.scheduled_remind_prior),
            "scheduled_reminded_at": iso_or_none(incident.scheduled_reminded_at),
            "impact_override": body["impact_override"],
            "scheduled_auto_in_progress": incident.scheduled_auto_in_progress,
            "scheduled_auto_completed": incident.scheduled_auto_completed,
            "id": body["id"],
            "page_id": body["page_id"],
            "incident_updates": [_webhook_update(u) for u in body["incident_updates"]],
            "components": [component_events.webhook_component(c) for c in body["components"]],
        },
    }
    if body["chargers"] is not None:  # Pharos's structured impact: additive, only when set
        payload["incident"]["chargers"] = body["chargers"]
    return payload


def incident_event(
    session: Session, settings: Settings, incident: Incident, *, event_type: str, now: datetime
) -> None:
    """Queue an incident.* (or maintenance.*) event for every subscriber it concerns."""
    if incident.backfilled:
        return
    session.flush()  # the payload reads the timeline back
    affected = set(read.affected_component_ids(session, incident.id))
    outbox.emit(
        session,
        event_type=event_type,
        payload=incident_payload(session, settings, incident),
        component_ids=component_read.with_groups(session, affected),
        now=now,
        subject=f"incident:{incident.id}",
    )

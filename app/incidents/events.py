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


def incident_payload(session: Session, settings: Settings, incident: Incident) -> dict[str, Any]:
    """`page` + `incident` as Statuspage's incident webhooks carry them."""
    (detail,) = read.load_details(session, [incident])
    public = present_incident(detail, page_id=settings.page_id, public_url=settings.public_url)
    body = public.model_dump(mode="json")
    if body["chargers"] is None:
        del body["chargers"]  # additive, and only when the incident has a charger impact
    for update in body["incident_updates"]:
        update.update({"wants_twitter_update": False, "twitter_updated_at": None})
    body.update(
        {
            # Subscribers see what is published, never the draft.
            "postmortem_body": incident.postmortem_published_body,
            "postmortem_ignored": False,
            "postmortem_notified_subscribers": incident.postmortem_published_at is not None,
            "postmortem_notified_twitter": False,
            "scheduled_for": iso_or_none(incident.scheduled_for),
            "scheduled_until": iso_or_none(incident.scheduled_until),
            "scheduled_remind_prior": bool(incident.scheduled_remind_prior),
            "scheduled_reminded_at": iso_or_none(incident.scheduled_reminded_at),
            "scheduled_auto_in_progress": incident.scheduled_auto_in_progress,
            "scheduled_auto_completed": incident.scheduled_auto_completed,
        }
    )
    return {"page": component_events.page_block(session, settings), "incident": body}


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
    )

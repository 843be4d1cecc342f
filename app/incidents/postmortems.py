"""Postmortem use cases: save a draft, publish it, unpublish it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, InvalidInput, InvalidTransition
from app.incidents import events
from app.incidents import service as incidents
from app.models import CLOSED_STATUSES, Incident, IncidentStatus


def save_postmortem_draft(
    session: Session, incident_id: str, *, body: str, actor: str, now: datetime
) -> Incident:
    """Save (or replace) the postmortem draft; what is published stays until republished."""
    incident = incidents.lock_incident(session, incident_id)
    incident.postmortem_body = body
    incident.postmortem_body_updated_at = now
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session, actor, "postmortem.draft_saved", incident.id, at=now, data={"length": len(body)}
    )
    return incident


def published_before(session: Session, incident: Incident) -> bool:
    """Whether the postmortem is published, or was before it was unpublished."""
    return incident.postmortem_published_at is not None or audit.happened(
        session, "postmortem.published", incident.id
    )


def publish_postmortem(
    session: Session,
    incident_id: str,
    *,
    published_at: datetime | None,
    notify_subscribers: bool | None,
    settings: Settings,
    actor: str,
    now: datetime,
) -> Incident:
    """Publish the draft; the incident's status becomes postmortem.

    Subscribers hear of the first publication only: republishing (a typo fixed) tells nobody
    unless `notify_subscribers` is True. None means that default.
    """
    incident = incidents.lock_incident(session, incident_id)
    if notify_subscribers is None:
        notify_subscribers = not published_before(session, incident)
    if incident.status not in CLOSED_STATUSES:
        raise InvalidTransition("resolve the incident before publishing its postmortem")
    if not incident.postmortem_body:
        raise Conflict("there is no postmortem draft to publish; PUT one first")
    when = published_at or now
    if when > now + incidents.CLOCK_SKEW:
        raise InvalidInput("published_at is in the future")
    incident.postmortem_published_body = incident.postmortem_body
    incident.postmortem_published_at = when
    incident.status = IncidentStatus.postmortem
    incident.updated_at = now
    session.add(incident)
    if notify_subscribers:
        events.incident_event(
            session, settings, incident, event_type="incident.postmortem_published", now=now
        )
    audit.record(
        session,
        actor,
        "postmortem.published",
        incident.id,
        at=now,
        data={"published_at": when.isoformat(), "notify_subscribers": notify_subscribers},
    )
    return incident


def unpublish_postmortem(
    session: Session, incident_id: str, *, actor: str, now: datetime
) -> Incident:
    """Take the postmortem off the page; the draft is kept and the incident is resolved again."""
    incident = incidents.lock_incident(session, incident_id)
    if incident.status != IncidentStatus.postmortem:
        raise InvalidTransition("the postmortem is not published")
    incident.postmortem_published_body = None
    incident.postmortem_published_at = None
    incident.status = IncidentStatus.resolved
    incident.updated_at = now
    session.add(incident)
    audit.record(session, actor, "postmortem.unpublished", incident.id, at=now)
    return incident

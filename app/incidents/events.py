"""What the incidents domain tells subscribers (incident.* and maintenance.*): built here, in
Statuspage's webhook shape, and handed to the outbox in the transaction of the change.

History is not news: nothing is ever sent for a backfilled incident.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from app.components import events as component_events
from app.components import read as component_read
from app.components.events import Leaf, webhook_leaf
from app.config import Settings
from app.incidents import read
from app.incidents.present import chargers_impact, page_path
from app.models import ComponentStatus, Incident, IncidentUpdate
from app.notifications import outbox
from app.timefmt import iso, iso_or_none

# An affected component as a plain row: component id, display name, old and new status.
AffectedRow = tuple[str, str, ComponentStatus, ComponentStatus]


def _webhook_update(
    update: IncidentUpdate, incident_id: str, affected: list[AffectedRow]
) -> dict[str, Any]:
    """An incident update as Statuspage's webhooks carry it (their keys, their order)."""
    return {
        "status": update.status.value,
        "body": update.body,
        "created_at": iso(update.created_at, UTC),
        "wants_twitter_update": False,
        "twitter_updated_at": None,
        "updated_at": iso(update.updated_at, UTC),
        "display_at": iso(update.display_at, UTC),
        "affected_components": [
            {"code": code, "name": name, "old_status": old.value, "new_status": new.value}
            for code, name, old, new in affected
        ]
        or None,
        "custom_tweet": None,
        "deliver_notifications": update.deliver_notifications,
        "id": update.id,
        "incident_id": incident_id,
    }


def newest_first(updates: list[IncidentUpdate]) -> list[IncidentUpdate]:
    """A timeline in the order its webhooks list it (as read.load_details reads it)."""
    return sorted(updates, key=lambda u: (u.display_at, u.created_at), reverse=True)


def incident_body(
    settings: Settings,
    incident: Incident,
    updates: list[IncidentUpdate],
    affected: dict[str, list[AffectedRow]],
    components: list[Leaf],
) -> dict[str, Any]:
    """The `incident` of Statuspage's incident webhooks, exactly their keys in their order
    (zulip's captured fixtures, ../shared/reference), times in UTC; written from plain rows
    in one pass (an incident may hold thousands of components, in each of its updates).

    `updates` newest first, `affected` their rows by update id, `components` the affected
    components in display order, as they are now."""
    published = incident.postmortem_published_at
    body: dict[str, Any] = {
        "name": incident.name,
        "status": incident.status.value,
        "created_at": iso(incident.created_at, UTC),
        "updated_at": iso(incident.updated_at, UTC),
        "monitoring_at": iso_or_none(incident.monitoring_at, UTC),
        "resolved_at": iso_or_none(incident.resolved_at, UTC),
        "impact": incident.impact.value,
        "shortlink": f"{settings.public_url}{page_path(incident)}",
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
        "impact_override": incident.impact_override.value if incident.impact_override else None,
        "scheduled_auto_in_progress": incident.scheduled_auto_in_progress,
        "scheduled_auto_completed": incident.scheduled_auto_completed,
        "id": incident.id,
        "page_id": settings.page_id,
        "incident_updates": [
            _webhook_update(u, incident.id, affected.get(u.id, [])) for u in updates
        ],
        "components": [webhook_leaf(c, settings.page_id) for c in components],
    }
    chargers = chargers_impact(incident)
    if chargers is not None:  # Pharos's structured impact: additive, only when set
        body["chargers"] = chargers.model_dump(mode="json")
    return body


def incident_payload(session: Session, settings: Settings, incident: Incident) -> dict[str, Any]:
    """`page` + `incident` as Statuspage's incident webhooks carry them."""
    (detail,) = read.load_details(session, [incident])
    affected = {
        update_id: [(a.component_id, a.name, a.old_status, a.new_status) for a in rows]
        for update_id, rows in detail.affected.items()
    }
    return {
        "page": component_events.page_block(session, settings),
        "incident": incident_body(
            settings, incident, detail.updates, affected, list(detail.components)
        ),
    }


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

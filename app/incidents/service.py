"""Incident use cases: open an incident, post and edit updates."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import service as audit
from app.clock import Clock
from app.config import Settings
from app.errors import InvalidInput, InvalidTransition, NotFound
from app.incidents import events, timeline
from app.incidents.schemas import IncidentCreate, UpdateCreate, UpdateEdit
from app.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)

# Clocks drift; a display time this far ahead of ours is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=2)


def lock_incident(session: Session, incident_id: str, *, maintenance: bool = False) -> Incident:
    """The incident (or maintenance), row-locked for the rest of the transaction."""
    incident = session.exec(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).first()
    if incident is None or (incident.scheduled_for is not None) != maintenance:
        kind = "maintenance" if maintenance else "incident"
        raise NotFound(f"{kind} {incident_id!r} does not exist")
    return incident


def check_display_at(display_at: datetime, now: datetime) -> None:
    """Refuse a display time in the future (back-dating is fine)."""
    if display_at > now + CLOCK_SKEW:
        raise InvalidInput("display_at is in the future; updates can be back-dated, not post-dated")


def _check_transition(incident: Incident, new: IncidentStatus) -> None:
    if incident.status in CLOSED_STATUSES and new != IncidentStatus.resolved:
        raise InvalidTransition(
            f"incident is {incident.status.value}; only a further 'resolved' note can be "
            "posted. Open a new incident if the problem is back."
        )


def open_incident(
    session: Session,
    *,
    data: IncidentCreate,
    settings: Settings,
    actor: str,
    now: datetime,
    automated: bool = False,
) -> Incident:
    """Open an incident with its first update, changing component statuses as asked.

    `automated`: a probe opens it, and tells its story until a person posts an update.
    """
    display_at = data.display_at or now
    check_display_at(display_at, now)
    started_at = data.started_at or display_at
    if started_at > display_at:
        raise InvalidInput("started_at can't be later than the first update's display_at")
    incident = Incident(
        name=data.name,
        status=data.status,
        impact_override=data.impact_override,
        backfilled=data.backfilled,
        automated=automated,
        created_at=now,
        updated_at=now,
        started_at=started_at,
        chargers_affected=data.chargers_affected,
        chargers_total=data.chargers_total,
    )
    session.add(incident)
    session.flush()
    # History written after the fact is not news: backfilled incidents notify no one.
    notify = data.deliver_notifications and not data.backfilled
    already_over = data.status == IncidentStatus.resolved
    timeline.apply_update(
        session,
        incident,
        status=data.status,
        body=data.body,
        changes=data.components,
        display_at=display_at,
        deliver_notifications=notify,
        restoring=False,
        settings=settings,
        now=now,
        # An incident reported once it is over: its components were in these statuses from
        # started_at and are handed back below, at display_at.
        effective_at=started_at if already_over else None,
    )
    if already_over and data.components:
        timeline.hand_back(
            session,
            incident,
            list(data.components),
            at=display_at,
            notify=notify,
            settings=settings,
            now=now,
        )
    if notify:
        events.incident_event(session, settings, incident, event_type="incident.created", now=now)
    audit.record(
        session, actor, "incident.opened", incident.id, at=now, data=data.model_dump(mode="json")
    )
    return incident


def post_update(
    session: Session,
    incident_id: str,
    *,
    data: UpdateCreate,
    settings: Settings,
    actor: str,
    now: datetime | Clock,
    automated: bool = False,
) -> IncidentUpdate:
    """Add an update to an incident's timeline; resolving restores components not named.

    An update a person posts (not `automated`) takes the incident's story over from probes.
    Given a clock, "now" is read under the incident's row lock, so parallel updates get
    display times in the order they are applied and the newest one sets the status.
    """
    incident = lock_incident(session, incident_id)
    now = now() if callable(now) else now
    if not automated:
        incident.automated = False
    _check_transition(incident, data.status)
    display_at = data.display_at or now
    check_display_at(display_at, now)
    if data.chargers_total is not None:
        incident.chargers_affected = data.chargers_affected
        incident.chargers_total = data.chargers_total
    was_open = incident.status in OPEN_STATUSES
    update = timeline.apply_update(
        session,
        incident,
        status=data.status,
        body=data.body,
        changes=data.components,
        display_at=display_at,
        deliver_notifications=data.deliver_notifications,
        restoring=was_open and data.status == IncidentStatus.resolved,
        settings=settings,
        now=now,
    )
    if data.deliver_notifications:
        resolving = was_open and data.status == IncidentStatus.resolved
        kind = "incident.resolved" if resolving else "incident.updated"
        events.incident_event(session, settings, incident, event_type=kind, now=now)
    audit.record(
        session,
        actor,
        "incident.update_posted",
        incident.id,
        at=now,
        data={"update_id": update.id, **data.model_dump(mode="json")},
    )
    return update


def edit_update(
    session: Session,
    incident_id: str,
    update_id: str,
    *,
    data: UpdateEdit,
    actor: str,
    now: datetime,
) -> IncidentUpdate:
    """Fix an update's body or display time; the previous values go to the audit log."""
    incident = lock_incident(session, incident_id)
    update = session.get(IncidentUpdate, update_id)
    if update is None or update.incident_id != incident.id:
        raise NotFound(f"update {update_id!r} of incident {incident_id!r} does not exist")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change: give body and/or display_at")
    if changes.get("body", "") is None or ("display_at" in changes and data.display_at is None):
        raise InvalidInput("body and display_at can't be null")
    before = {"body": update.body, "display_at": update.display_at.isoformat()}
    if data.body is not None:
        update.body = data.body
    if data.display_at is not None:
        check_display_at(data.display_at, now)
        update.display_at = data.display_at
    update.updated_at = now
    incident.updated_at = now
    session.add_all([update, incident])
    session.flush()
    timeline.sync_from_updates(session, incident)
    audit.record(
        session,
        actor,
        "incident.update_edited",
        incident.id,
        at=now,
        data={
            "update_id": update.id,
            "before": before,
            "after": data.model_dump(mode="json", exclude_unset=True),
        },
    )
    return update


def edit_incident(
    session: Session,
    incident_id: str,
    *,
    name: str,
    impact_override: Impact | None,
    started_at: datetime,
    actor: str,
    now: datetime,
) -> Incident:
    """Set an incident's name, impact override and start (incidents kept as files); audited."""
    incident = lock_incident(session, incident_id)
    first = session.exec(
        select(sa.func.min(IncidentUpdate.display_at)).where(
            IncidentUpdate.incident_id == incident.id
        )
    ).one()
    if first is not None and started_at > first:
        raise InvalidInput("started_at can't be later than the first update's display_at")
    before = {
        "name": incident.name,
        "impact_override": incident.impact_override,
        "started_at": incident.started_at.isoformat(),
    }
    incident.name = name
    incident.impact_override = impact_override
    incident.started_at = started_at
    incident.updated_at = now
    session.add(incident)
    session.flush()
    timeline.sync_from_updates(session, incident)
    audit.record(
        session,
        actor,
        "incident.edited",
        incident.id,
        at=now,
        data={
            "before": before,
            "after": {
                "name": name,
                "impact_override": impact_override,
                "started_at": started_at.isoformat(),
            },
        },
    )
    return incident

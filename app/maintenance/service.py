"""Maintenance use cases: schedule, change, post updates, and the on-time transitions.

A maintenance is an Incident row with scheduled_for set (Statuspage's model too), so its
timeline, affected components, feeds and payloads work as an incident's do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from app.incidents import events, read, timeline
from app.incidents import service as incidents
from app.maintenance.schemas import (
    MAINTENANCE_STATUSES,
    MaintenanceChange,
    MaintenanceCreate,
    MaintenanceUpdateCreate,
)
from app.models import ComponentStatus, Impact, Incident, IncidentStatus, IncidentUpdate

ORDER = {status: rank for rank, status in enumerate(MAINTENANCE_STATUSES)}
UPCOMING = (IncidentStatus.scheduled,)
ACTIVE = (IncidentStatus.in_progress, IncidentStatus.verifying)
# Statuspage's wording for the automatic updates.
STARTED_BODY = (
    "Scheduled maintenance is currently in progress. We will provide updates as necessary."
)
COMPLETED_BODY = "The scheduled maintenance has been completed."
EVENT_OF = {
    IncidentStatus.scheduled: "maintenance.scheduled",
    IncidentStatus.in_progress: "maintenance.started",
    IncidentStatus.verifying: "maintenance.updated",
    IncidentStatus.completed: "maintenance.completed",
}


def _lock(session: Session, maintenance_id: str) -> Incident:
    return incidents.lock_incident(session, maintenance_id, maintenance=True)


def get_maintenance(session: Session, maintenance_id: str) -> Incident:
    """One maintenance, or NotFound."""
    found = session.get(Incident, maintenance_id)
    if found is None or found.scheduled_for is None:
        raise NotFound(f"maintenance {maintenance_id!r} does not exist")
    return found


def schedule_maintenance(
    session: Session, *, data: MaintenanceCreate, settings: Settings, actor: str, now: datetime
) -> Incident:
    """Announce planned work; nothing changes on the components until it starts."""
    maintenance = Incident(
        name=data.name,
        status=IncidentStatus.scheduled,
        impact=Impact.maintenance,
        impact_override=Impact.maintenance,
        created_at=now,
        updated_at=now,
        started_at=data.scheduled_for,
        scheduled_for=data.scheduled_for,
        scheduled_until=data.scheduled_until,
        scheduled_remind_prior=data.scheduled_remind_prior,
        scheduled_auto_in_progress=data.scheduled_auto_in_progress,
        scheduled_auto_completed=data.scheduled_auto_completed,
        auto_transition_to_maintenance_state=data.auto_transition_to_maintenance_state,
        auto_transition_to_operational_state=data.auto_transition_to_operational_state,
    )
    session.add(maintenance)
    session.flush()
    timeline.apply_update(
        session,
        maintenance,
        status=IncidentStatus.scheduled,
        body=data.body,
        changes={},
        listed=data.component_ids,
        display_at=now,
        deliver_notifications=data.deliver_notifications,
        restoring=False,
        settings=settings,
        now=now,
    )
    if data.deliver_notifications:
        events.incident_event(
            session, settings, maintenance, event_type="maintenance.scheduled", now=now
        )
    audit.record(
        session,
        actor,
        "maintenance.scheduled",
        maintenance.id,
        at=now,
        data=data.model_dump(mode="json"),
    )
    return maintenance


def change_maintenance(
    session: Session,
    maintenance_id: str,
    *,
    data: MaintenanceChange,
    actor: str,
    now: datetime,
) -> Incident:
    """Change the plan of a maintenance that has not started."""
    maintenance = _lock(session, maintenance_id)
    if maintenance.status != IncidentStatus.scheduled:
        raise Conflict("only a maintenance that has not started can be changed; post an update")
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field != "scheduled_remind_prior":
            raise InvalidInput(f"{field} can't be null")
        setattr(maintenance, field, value)
    assert maintenance.scheduled_for is not None and maintenance.scheduled_until is not None
    if maintenance.scheduled_until <= maintenance.scheduled_for:
        raise InvalidInput("scheduled_until must be later than scheduled_for")
    if "scheduled_for" in changes:
        maintenance.started_at = maintenance.scheduled_for
        maintenance.scheduled_reminded_at = None
    maintenance.updated_at = now
    session.add(maintenance)
    audit.record(
        session,
        actor,
        "maintenance.changed",
        maintenance.id,
        at=now,
        data=data.model_dump(mode="json", exclude_unset=True),
    )
    return maintenance


def cancel_maintenance(session: Session, maintenance_id: str, *, actor: str, now: datetime) -> None:
    """Delete a maintenance that has not started (a started one is completed instead)."""
    maintenance = _lock(session, maintenance_id)
    if maintenance.status != IncidentStatus.scheduled:
        raise Conflict("the maintenance has started; post a 'completed' update instead")
    session.delete(maintenance)
    audit.record(
        session,
        actor,
        "maintenance.cancelled",
        maintenance_id,
        at=now,
        data={"name": maintenance.name},
    )


def _post(
    session: Session,
    maintenance: Incident,
    *,
    status: IncidentStatus,
    body: str,
    changes: dict[str, ComponentStatus],
    display_at: datetime,
    deliver_notifications: bool,
    settings: Settings,
    now: datetime,
) -> IncidentUpdate:
    """Record one maintenance update, with the automatic component transitions."""
    current = maintenance.status
    if current == IncidentStatus.completed and status != IncidentStatus.completed:
        raise InvalidTransition("the maintenance is completed; schedule a new one")
    if ORDER[status] < ORDER[current] and {status, current} != set(ACTIVE):
        raise InvalidTransition(f"a maintenance can't go back from {current} to {status}")
    starting = status in ACTIVE and current == IncidentStatus.scheduled
    if starting and maintenance.auto_transition_to_maintenance_state:
        for component_id in read.affected_component_ids(session, maintenance.id):
            changes.setdefault(component_id, ComponentStatus.under_maintenance)
    finishing = status == IncidentStatus.completed and current != IncidentStatus.completed
    update = timeline.apply_update(
        session,
        maintenance,
        status=status,
        body=body,
        changes=changes,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        restoring=finishing and maintenance.auto_transition_to_operational_state,
        settings=settings,
        now=now,
    )
    if deliver_notifications:
        kind = EVENT_OF[status] if status != current else "maintenance.updated"
        events.incident_event(session, settings, maintenance, event_type=kind, now=now)
    return update


def post_maintenance_update(
    session: Session,
    maintenance_id: str,
    *,
    data: MaintenanceUpdateCreate,
    settings: Settings,
    actor: str,
    now: datetime,
) -> IncidentUpdate:
    """Add an update; starting puts components under maintenance, completing restores them."""
    maintenance = _lock(session, maintenance_id)
    display_at = data.display_at or now
    incidents.check_display_at(display_at, now)
    update = _post(
        session,
        maintenance,
        status=data.status,
        body=data.body,
        changes=dict(data.components),
        display_at=display_at,
        deliver_notifications=data.deliver_notifications,
        settings=settings,
        now=now,
    )
    audit.record(
        session,
        actor,
        "maintenance.update_posted",
        maintenance.id,
        at=now,
        data={"update_id": update.id, **data.model_dump(mode="json")},
    )
    return update


def due_transitions(session: Session, *, now: datetime) -> list[str]:
    """Ids of maintenances whose automatic start, completion or reminder is due."""
    start = select(Incident.id).where(
        Incident.status == IncidentStatus.scheduled,
        col(Incident.scheduled_auto_in_progress),
        col(Incident.scheduled_for) <= now,
    )
    finish = select(Incident.id).where(
        col(Incident.status).in_(ACTIVE + UPCOMING),
        col(Incident.scheduled_auto_completed),
        col(Incident.scheduled_until) <= now,
    )
    remind = select(Incident.id, Incident.scheduled_for, Incident.scheduled_remind_prior).where(
        Incident.status == IncidentStatus.scheduled,
        col(Incident.scheduled_remind_prior).is_not(None),
        col(Incident.scheduled_reminded_at).is_(None),
    )
    ids = set(session.exec(start)) | set(session.exec(finish))
    for maintenance_id, begins, minutes in session.exec(remind):
        if begins is not None and minutes and (begins - now).total_seconds() <= minutes * 60:
            ids.add(maintenance_id)
    return sorted(ids)


def _announced(session: Session, maintenance: Incident) -> bool:
    """Whether the maintenance was announced to subscribers (its first update notified):
    the automatic updates follow that choice."""
    first = session.exec(
        select(IncidentUpdate.deliver_notifications)
        .where(IncidentUpdate.incident_id == maintenance.id)
        .order_by(col(IncidentUpdate.created_at))
        .limit(1)
    ).first()
    return bool(first) if first is not None else True


def _after_last(session: Session, maintenance: Incident, planned: datetime) -> datetime:
    """The planned time, or just after the newest update when that is later (a maintenance
    scheduled to start at once): the timeline must stay in order."""
    newest = session.exec(
        select(sa.func.max(IncidentUpdate.display_at)).where(
            IncidentUpdate.incident_id == maintenance.id
        )
    ).one()
    return max(planned, newest) if newest is not None else planned


# The automatic updates, in order: (status, body, the time it is due at, whether it applies now).
AUTOMATIC: list[tuple[IncidentStatus, str, str, Callable[[Incident], bool]]] = [
    (
        IncidentStatus.in_progress,
        STARTED_BODY,
        "scheduled_for",
        lambda m: m.status == IncidentStatus.scheduled and m.scheduled_auto_in_progress,
    ),
    (
        IncidentStatus.completed,
        COMPLETED_BODY,
        "scheduled_until",
        lambda m: m.status in ACTIVE + UPCOMING and m.scheduled_auto_completed,
    ),
]


def run_transition(
    session: Session, maintenance_id: str, *, settings: Settings, now: datetime
) -> None:
    """Do whatever is due for one maintenance, once: re-checked under the row lock.

    Catching up after downtime posts the start and the completion at their scheduled times,
    so the timeline reads as it should have happened.
    """
    maintenance = _lock(session, maintenance_id)
    assert maintenance.scheduled_for is not None and maintenance.scheduled_until is not None
    notify = _announced(session, maintenance)
    if (
        maintenance.status == IncidentStatus.scheduled
        and maintenance.scheduled_remind_prior
        and maintenance.scheduled_reminded_at is None
        and (maintenance.scheduled_for - now).total_seconds()
        <= maintenance.scheduled_remind_prior * 60
    ):
        maintenance.scheduled_reminded_at = now
        session.add(maintenance)
        if notify and maintenance.scheduled_for > now:
            events.incident_event(
                session, settings, maintenance, event_type="maintenance.reminder", now=now
            )
    for status, body, planned, applies in AUTOMATIC:
        at = getattr(maintenance, planned)
        if applies(maintenance) and at <= now:
            _post(
                session,
                maintenance,
                status=status,
                body=body,
                changes={},
                display_at=_after_last(session, maintenance, at),
                deliver_notifications=notify,
                settings=settings,
                now=now,
            )
    session.flush()


def _maintenance_query(
    stmt: Any,
    statuses: tuple[IncidentStatus, ...] | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    stmt = stmt.where(col(Incident.scheduled_for).is_not(None))
    if statuses:
        stmt = stmt.where(col(Incident.status).in_(statuses))
    if since is not None:
        stmt = stmt.where(col(Incident.scheduled_for) >= since)
    if until is not None:
        stmt = stmt.where(col(Incident.scheduled_for) < until)
    return stmt


def list_maintenances(
    session: Session,
    *,
    statuses: tuple[IncidentStatus, ...] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Incident]:
    """Maintenances, latest scheduled first (upcoming ones soonest first)."""
    stmt = _maintenance_query(select(Incident), statuses, since, until)
    order = col(Incident.scheduled_for)
    stmt = stmt.order_by(order if statuses == UPCOMING else order.desc(), col(Incident.id))
    return list(session.exec(stmt.offset(offset).limit(limit)))


def count_maintenances(
    session: Session,
    *,
    statuses: tuple[IncidentStatus, ...] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many maintenances match the same filters as list_maintenances."""
    stmt = _maintenance_query(select(sa.func.count()).select_from(Incident), statuses, since, until)
    count: int = session.exec(stmt).one()
    return count

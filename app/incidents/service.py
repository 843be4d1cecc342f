"""Incident use cases: open an incident, post and edit updates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.components import events as component_events
from app.components import present as component_present
from app.components import service as components
from app.config import Settings
from app.errors import InvalidInput, InvalidTransition, NotFound
from app.incidents import events, read
from app.incidents.schemas import ComponentChanges, IncidentCreate, UpdateCreate, UpdateEdit
from app.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AffectedComponent,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)

IMPACT_OF: dict[ComponentStatus, Impact] = {
    ComponentStatus.operational: Impact.none,
    ComponentStatus.under_maintenance: Impact.none,
    ComponentStatus.degraded_performance: Impact.minor,
    ComponentStatus.partial_outage: Impact.major,
    ComponentStatus.major_outage: Impact.critical,
}
IMPACT_RANK = {impact: rank for rank, impact in enumerate(Impact)}
# Clocks drift; a display time this far ahead of ours is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=2)
# Open incidents and running maintenances hold on to the statuses they set.
CLAIMING = (*OPEN_STATUSES, IncidentStatus.in_progress, IncidentStatus.verifying)


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


def _claims_of_other_open_incidents(
    session: Session, incident_id: str, component_ids: list[str]
) -> dict[str, list[ComponentStatus]]:
    """What other open incidents last set each component to."""
    if not component_ids:
        return {}
    stmt = (
        select(
            IncidentUpdate.incident_id, AffectedComponent.component_id, AffectedComponent.new_status
        )
        .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
        .join(Incident, col(Incident.id) == IncidentUpdate.incident_id)
        .where(col(AffectedComponent.component_id).in_(component_ids))
        .where(col(AffectedComponent.set_here))
        .where(col(Incident.status).in_(CLAIMING))
        .where(Incident.id != incident_id)
        .order_by(col(AffectedComponent.id))
    )
    latest: dict[tuple[str, str], ComponentStatus] = {}
    for other_id, component_id, status in session.exec(stmt):
        latest[(other_id, component_id)] = ComponentStatus(status)
    claims: dict[str, list[ComponentStatus]] = defaultdict(list)
    for (_, component_id), status in latest.items():
        claims[component_id].append(status)
    return claims


def _restore_targets(
    session: Session, incident_id: str, component_ids: list[str]
) -> dict[str, ComponentStatus]:
    """Where each component goes when this incident lets go of it: the worst status other
    open incidents or running maintenances set on it, or operational."""
    claims = _claims_of_other_open_incidents(session, incident_id, component_ids)
    return {i: component_present.worst(claims.get(i, [])) for i in component_ids}


def _hand_back(
    session: Session,
    incident: Incident,
    component_ids: list[str],
    *,
    at: datetime,
    notify: bool,
    settings: Settings,
    now: datetime,
) -> None:
    """Give components back (to other open incidents' claims, or operational) at `at`."""
    targets = _restore_targets(session, incident.id, component_ids)
    locked = components.get_components_for_update(session, component_ids)
    for component_id, target in targets.items():
        component = locked[component_id]
        change = components.change_status(
            session,
            component,
            target,
            now=now,
            tz=settings.tz,
            effective_at=at,
            incident_id=incident.id,
        )
        if change is not None and notify:
            component_events.status_changed(session, settings, component, change, now=now)


def _check_transition(incident: Incident, new: IncidentStatus) -> None:
    if incident.status in CLOSED_STATUSES and new != IncidentStatus.resolved:
        raise InvalidTransition(
            f"incident is {incident.status.value}; only a further 'resolved' note can be "
            "posted. Open a new incident if the problem is back."
        )


def _sync_from_updates(session: Session, incident: Incident) -> None:
    """Derive monitoring_at, resolved_at and impact from the timeline."""
    updates = list(
        session.exec(select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id))
    )
    monitoring = [u.display_at for u in updates if u.status == IncidentStatus.monitoring]
    ended = (IncidentStatus.resolved, IncidentStatus.completed)
    resolved = [u.display_at for u in updates if u.status in ended]
    incident.monitoring_at = min(monitoring, default=None)
    done = incident.status in CLOSED_STATUSES or incident.status == IncidentStatus.completed
    incident.resolved_at = min(resolved, default=None) if done else None
    if incident.impact_override is not None:
        incident.impact = incident.impact_override
        return
    reached = session.exec(
        select(AffectedComponent.new_status)
        .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
        .where(IncidentUpdate.incident_id == incident.id)
        .where(col(AffectedComponent.set_here))
        .distinct()
    )
    incident.impact = max(
        (IMPACT_OF[ComponentStatus(s)] for s in reached),
        key=IMPACT_RANK.__getitem__,
        default=Impact.none,
    )


def apply_update(
    session: Session,
    incident: Incident,
    *,
    status: IncidentStatus,
    body: str,
    changes: ComponentChanges,
    display_at: datetime,
    deliver_notifications: bool,
    restoring: bool,
    settings: Settings,
    now: datetime,
    listed: Iterable[str] = (),
    effective_at: datetime | None = None,
) -> IncidentUpdate:
    """Record one timeline entry and every component change it makes.

    Components named in `listed` join the affected list without a change. With `restoring`
    (resolving an incident, completing a maintenance), components not named in `changes` go
    back to what other open incidents still claim, or operational.
    """
    locked = components.get_components_for_update(
        session, [*changes, *listed], also=read.affected_component_ids(session, incident.id)
    )
    unnamed = [i for i in locked if i not in changes]
    targets = _restore_targets(session, incident.id, unnamed) if restoring else {}
    update = IncidentUpdate(
        incident_id=incident.id,
        status=status,
        body=body,
        display_at=display_at,
        created_at=now,
        updated_at=now,
        deliver_notifications=deliver_notifications,
    )
    session.add(update)
    session.flush()
    groups = components.groups_by_id(session)
    changed: list[tuple[Component, ComponentStatusChange]] = []
    for component_id in sorted(locked, key=lambda i: (locked[i].position, locked[i].name)):
        component = locked[component_id]
        old = component.status
        if component_id in changes:
            new = changes[component_id]
        elif restoring:
            # Resolving hands a component back to whatever other open incidents still claim.
            new = targets[component_id]
        else:
            new = old
        session.add(
            AffectedComponent(
                incident_update_id=update.id,
                component_id=component_id,
                name=components.display_name(component, groups),
                old_status=old,
                new_status=new,
                set_here=component_id in changes,
            )
        )
        change = components.change_status(
            session,
            component,
            new,
            now=now,
            tz=settings.tz,
            effective_at=effective_at or display_at,
            incident_id=incident.id,
        )
        if change is not None:
            changed.append((component, change))
    if incident.status != IncidentStatus.postmortem:
        incident.status = status
    incident.updated_at = now
    session.add(incident)
    session.flush()
    _sync_from_updates(session, incident)
    if deliver_notifications and not incident.backfilled:
        for component, change in changed:
            component_events.status_changed(session, settings, component, change, now=now)
    return update


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
    )
    session.add(incident)
    session.flush()
    # History written after the fact is not news: backfilled incidents notify no one.
    notify = data.deliver_notifications and not data.backfilled
    already_over = data.status == IncidentStatus.resolved
    apply_update(
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
        _hand_back(
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
        session,
        actor=actor,
        action="incident.opened",
        object_type="incident",
        object_id=incident.id,
        at=now,
        data=data.model_dump(mode="json"),
    )
    session.flush()
    return incident


def post_update(
    session: Session,
    incident_id: str,
    *,
    data: UpdateCreate,
    settings: Settings,
    actor: str,
    now: datetime,
    automated: bool = False,
) -> IncidentUpdate:
    """Add an update to an incident's timeline; resolving restores components not named.

    An update a person posts (not `automated`) takes the incident's story over from probes.
    """
    incident = lock_incident(session, incident_id)
    if not automated:
        incident.automated = False
    _check_transition(incident, data.status)
    display_at = data.display_at or now
    check_display_at(display_at, now)
    was_open = incident.status in OPEN_STATUSES
    update = apply_update(
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
        actor=actor,
        action="incident.update_posted",
        object_type="incident",
        object_id=incident.id,
        at=now,
        data={"update_id": update.id, **data.model_dump(mode="json")},
    )
    session.flush()
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
    _sync_from_updates(session, incident)
    audit.record(
        session,
        actor=actor,
        action="incident.update_edited",
        object_type="incident",
        object_id=incident.id,
        at=now,
        data={
            "update_id": update.id,
            "before": before,
            "after": data.model_dump(mode="json", exclude_unset=True),
        },
    )
    session.flush()
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
    _sync_from_updates(session, incident)
    audit.record(
        session,
        actor=actor,
        action="incident.edited",
        object_type="incident",
        object_id=incident.id,
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
    session.flush()
    return incident

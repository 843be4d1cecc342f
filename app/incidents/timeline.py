"""One timeline entry and what it does to components: the statuses it sets, what resolving
hands back, and the incident's times and impact derived from its timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.components import events as component_events
from app.components import present as component_present
from app.components import service as components
from app.config import Settings
from app.incidents import read
from app.incidents.schemas import ComponentChanges
from app.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AffectedComponent,
    Component,
    ComponentStatus,
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
# Open incidents and running maintenances hold on to the statuses they set.
CLAIMING = (*OPEN_STATUSES, IncidentStatus.in_progress, IncidentStatus.verifying)


def status_after(
    component_id: str,
    old: ComponentStatus,
    changes: Mapping[str, ComponentStatus],
    restored: Mapping[str, ComponentStatus] | None,
) -> ComponentStatus:
    """A component's status after an update: what the update sets, else (when it resolves:
    `restored`) whatever other open incidents still claim, else unchanged."""
    if component_id in changes:
        return changes[component_id]
    if restored is not None:
        return restored[component_id]
    return old


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


def hand_back(
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
    changed = components.change_statuses(
        session,
        [(locked[i], target) for i, target in targets.items()],
        now=now,
        tz=settings.tz,
        effective_at=at,
        incident_id=incident.id,
    )
    if notify:
        component_events.statuses_changed(session, settings, changed, now=now)


def sync_from_updates(session: Session, incident: Incident) -> None:
    """Derive monitoring_at, resolved_at and impact from the timeline."""
    updates = list(
        session.exec(
            select(IncidentUpdate.status, IncidentUpdate.display_at).where(
                IncidentUpdate.incident_id == incident.id
            )
        )
    )
    reached = session.exec(
        select(AffectedComponent.new_status)
        .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
        .where(IncidentUpdate.incident_id == incident.id)
        .where(col(AffectedComponent.set_here))
        .distinct()
    )
    derive(incident, updates, reached)


def derive(
    incident: Incident,
    updates: Iterable[tuple[IncidentStatus | str, datetime]],
    reached: Iterable[ComponentStatus | str],
) -> None:
    """Set monitoring_at, resolved_at and impact from the timeline's (status, display_at) and
    the statuses its updates set components to."""
    updates = list(updates)
    monitoring = [at for status, at in updates if status == IncidentStatus.monitoring]
    ended = (IncidentStatus.resolved, IncidentStatus.completed)
    resolved = [at for status, at in updates if status in ended]
    incident.monitoring_at = min(monitoring, default=None)
    done = incident.status in CLOSED_STATUSES or incident.status == IncidentStatus.completed
    incident.resolved_at = min(resolved, default=None) if done else None
    if incident.impact_override is not None:
        incident.impact = incident.impact_override
        return
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
    order = sorted(locked, key=lambda i: (locked[i].position, locked[i].name))
    targets_now: list[tuple[Component, ComponentStatus]] = []
    rows: list[dict[str, object]] = []
    for component_id in order:
        component = locked[component_id]
        old = component.status
        new = status_after(component_id, old, changes, targets if restoring else None)
        rows.append(
            {
                "incident_update_id": update.id,
                "component_id": component_id,
                "name": components.display_name(component, groups),
                "old_status": old,
                "new_status": new,
                "set_here": component_id in changes,
            }
        )
        targets_now.append((component, new))
    if rows:  # one multi-row insert, in display order (the list's order is the id's)
        session.execute(sa.insert(AffectedComponent), rows)
    changed = components.change_statuses(
        session,
        targets_now,
        now=now,
        tz=settings.tz,
        effective_at=effective_at or display_at,
        incident_id=incident.id,
    )
    if incident.status != IncidentStatus.postmortem:
        incident.status = status
    incident.updated_at = now
    session.add(incident)
    session.flush()
    sync_from_updates(session, incident)
    if deliver_notifications and not incident.backfilled:
        component_events.statuses_changed(session, settings, changed, now=now)
    return update

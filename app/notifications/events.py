"""What the domains tell subscribers; called inside the transaction of the change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.config import Settings
from app.incidents import read
from app.models import Component, ComponentStatusChange, Incident
from app.notifications import outbox, payloads


def _with_groups(session: Session, component_ids: set[str]) -> set[str]:
    """Component ids plus the ids of their groups (a group subscription covers its children)."""
    if not component_ids:
        return set()
    groups = session.exec(select(Component.group_id).where(col(Component.id).in_(component_ids)))
    return component_ids | {g for g in groups if g}


def incident_event(
    session: Session, settings: Settings, incident: Incident, *, event_type: str, now: datetime
) -> None:
    """Queue an incident.* webhook for every subscriber it concerns."""
    session.flush()
    affected = set(read.affected_component_ids(session, incident.id))
    outbox.emit(
        session,
        event_type=event_type,
        payload=payloads.incident_payload(session, settings, incident),
        component_ids=_with_groups(session, affected),
        now=now,
    )


def component_event(
    session: Session,
    settings: Settings,
    component: Component,
    change: ComponentStatusChange,
    *,
    now: datetime,
) -> None:
    """Queue a component.status_changed webhook."""
    session.flush()
    outbox.emit(
        session,
        event_type="component.status_changed",
        payload=payloads.component_payload(session, settings, component, change),
        component_ids=_with_groups(session, {component.id}),
        now=now,
    )

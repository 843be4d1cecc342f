"""Reading incidents back: lists, single incidents, and their timelines in bulk."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import (
    OPEN_STATUSES,
    AffectedComponent,
    AuditEvent,
    Component,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)


@dataclass
class IncidentDetail:
    """An incident with its timeline (newest first) and what it affected, ready to present."""

    incident: Incident
    updates: list[IncidentUpdate] = field(default_factory=list)
    affected: dict[str, list[AffectedComponent]] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)


def get_incident(session: Session, incident_id: str) -> Incident:
    """One incident (not a maintenance), or NotFound."""
    incident = session.get(Incident, incident_id)
    if incident is None or incident.scheduled_for is not None:
        raise NotFound(f"incident {incident_id!r} does not exist")
    return incident


def _filtered(
    stmt: Any,
    *,
    statuses: list[IncidentStatus] | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    stmt = stmt.where(col(Incident.scheduled_for).is_(None))  # maintenances are listed apart
    if statuses:
        stmt = stmt.where(col(Incident.status).in_(statuses))
    if since is not None:
        stmt = stmt.where(col(Incident.started_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Incident.started_at) < until)
    return stmt


def list_incidents(
    session: Session,
    *,
    statuses: list[IncidentStatus] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Incident]:
    """Incidents (not maintenances), most recently started first; since/until bound started_at."""
    stmt = _filtered(select(Incident), statuses=statuses, since=since, until=until)
    stmt = stmt.order_by(col(Incident.started_at).desc(), col(Incident.id))
    return list(session.exec(stmt.offset(offset).limit(limit)))


def count_incidents(
    session: Session,
    *,
    statuses: list[IncidentStatus] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many incidents match the same filters as list_incidents."""
    stmt = _filtered(
        select(sa.func.count()).select_from(Incident), statuses=statuses, since=since, until=until
    )
    count: int = session.exec(stmt).one()
    return count


def load_details(session: Session, incidents: list[Incident]) -> list[IncidentDetail]:
    """Timelines and affected components for many incidents in three queries."""
    if not incidents:
        return []
    ids = [i.id for i in incidents]
    updates = list(
        session.exec(
            select(IncidentUpdate)
            .where(col(IncidentUpdate.incident_id).in_(ids))
            .order_by(col(IncidentUpdate.display_at).desc(), col(IncidentUpdate.created_at).desc())
        )
    )
    update_ids = [u.id for u in updates]
    affected: dict[str, list[AffectedComponent]] = defaultdict(list)
    if update_ids:
        for row in session.exec(
            select(AffectedComponent)
            .where(col(AffectedComponent.incident_update_id).in_(update_ids))
            .order_by(col(AffectedComponent.id))
        ):
            affected[row.incident_update_id].append(row)
    by_incident: dict[str, IncidentDetail] = {i.id: IncidentDetail(incident=i) for i in incidents}
    for u in updates:
        by_incident[u.incident_id].updates.append(u)
        by_incident[u.incident_id].affected[u.id] = affected.get(u.id, [])
    component_ids = {row.component_id for rows in affected.values() for row in rows}
    current = (
        {
            c.id: c
            for c in session.exec(select(Component).where(col(Component.id).in_(component_ids)))
        }
        if component_ids
        else {}
    )
    for detail in by_incident.values():
        seen: dict[str, Component] = {}
        for rows in detail.affected.values():
            for row in rows:
                if row.component_id in current:
                    seen[row.component_id] = current[row.component_id]
        detail.components = sorted(seen.values(), key=lambda c: (c.position, c.name))
    return [by_incident[i] for i in ids]


def by_month(
    session: Session, firsts: list[date], *, tz: tzinfo, limit: int | None
) -> dict[date, tuple[list[Incident], int]]:
    """Incidents and maintenances that started in each month (given by its first day, in tz):
    the newest `limit` of them (all with None) and how many there were."""
    months: dict[date, tuple[list[Incident], int]] = {}
    for first in firsts:
        lower = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        upper = datetime.combine(following, datetime.min.time(), tzinfo=tz)
        within = (col(Incident.started_at) >= lower, col(Incident.started_at) < upper)
        query = select(Incident).where(*within).order_by(col(Incident.started_at).desc())
        listed = list(session.exec(query if limit is None else query.limit(limit)))
        total = len(listed)
        if limit is not None and total >= limit:
            counted = select(sa.func.count()).select_from(Incident).where(*within)
            total = session.exec(counted).one()
        months[first] = (listed, total)
    return months


def recent_or_open(session: Session, *, since: datetime) -> list[Incident]:
    """Incidents and maintenances that started or ended since `since`, or are still open;
    latest started first."""
    stmt = select(Incident).where(
        sa.or_(
            col(Incident.started_at) >= since,
            col(Incident.resolved_at) >= since,
            col(Incident.status).in_(OPEN_STATUSES),
        )
    )
    return list(session.exec(stmt.order_by(col(Incident.started_at).desc())))


def latest_start_before(session: Session, when: datetime) -> datetime | None:
    """When the newest incident or maintenance that started before `when` started."""
    stmt = select(sa.func.max(Incident.started_at)).where(col(Incident.started_at) < when)
    found: datetime | None = session.exec(stmt).one()
    return found


def earliest_start_from(session: Session, when: datetime) -> datetime | None:
    """When the oldest incident or maintenance that started at or after `when` started."""
    stmt = select(sa.func.min(Incident.started_at)).where(col(Incident.started_at) >= when)
    found: datetime | None = session.exec(stmt).one()
    return found


def _affecting(component_ids: list[str]) -> sa.Select[str]:
    """Ids of incidents any of whose updates named one of these components."""
    return (
        sa.select(col(IncidentUpdate.incident_id))
        .join(AffectedComponent, col(AffectedComponent.incident_update_id) == IncidentUpdate.id)
        .where(col(AffectedComponent.component_id).in_(component_ids))
        .distinct()
    )


def recently_changed(
    session: Session, *, limit: int, component_ids: list[str] | None = None
) -> list[Incident]:
    """Incidents most recently changed first, optionally only those affecting some components."""
    stmt = select(Incident)
    if component_ids is not None:
        stmt = stmt.where(col(Incident.id).in_(_affecting(component_ids)))
    stmt = stmt.order_by(col(Incident.updated_at).desc(), col(Incident.id)).limit(limit)
    return list(session.exec(stmt))


def with_recent_updates(
    session: Session, *, limit: int, component_ids: list[str] | None = None
) -> list[Incident]:
    """The incidents that the newest `limit` updates belong to."""
    newest = (
        sa.select(col(IncidentUpdate.incident_id))
        .order_by(col(IncidentUpdate.created_at).desc())
        .limit(limit)
    )
    if component_ids is not None:
        newest = newest.where(col(IncidentUpdate.incident_id).in_(_affecting(component_ids)))
    ids = set(session.scalars(newest))
    if not ids:
        return []
    return list(session.exec(select(Incident).where(col(Incident.id).in_(ids))))


def affected_component_ids(session: Session, incident_id: str) -> list[str]:
    """Every component any update of this incident named (each update repeats the full list)."""
    stmt = (
        select(AffectedComponent.component_id)
        .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
        .where(IncidentUpdate.incident_id == incident_id)
        .distinct()
    )
    return list(session.exec(stmt))


def last_change(session: Session) -> datetime | None:
    """When anything on the page last changed: Last-Modified and the page's updated_at.

    The audit log counts too, so a deletion (which leaves no updated_at behind) moves it on.
    """
    newest = [
        session.exec(select(sa.func.max(Component.updated_at))).one(),
        session.exec(select(sa.func.max(Incident.updated_at))).one(),
        session.exec(select(sa.func.max(AuditEvent.at))).one(),
    ]
    found = [t for t in newest if t is not None]
    return max(found) if found else None

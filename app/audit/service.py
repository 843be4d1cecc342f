"""Writing audit events; callers commit them together with the change they describe."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import AuditEvent

# The client address of the request being served ("from where"), set by app.web.origin.
origin: ContextVar[str | None] = ContextVar("audit_origin", default=None)


# What an action's first word says about the object it changed.
OBJECT_TYPES = {
    "component": "component",
    "incident": "incident",
    "maintenance": "incident",  # a maintenance is an incident row with a schedule
    "postmortem": "incident",
    "template": "incident_template",
    "token": "api_token",
    "user": "user",
    "subscriber": "subscriber",
    "delivery": "delivery",
    "probe": "probe",
    "fleet_area": "fleet_area",
    "brand": "brand_setting",
    "reliability_exclusion": "reliability_exclusion",
}


def record(
    session: Session,
    actor: str,
    action: str,
    object_id: str,
    *,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event (`action` is "<object>.<verb>") to the session's transaction."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPES[action.partition(".")[0]],
        object_id=object_id,
        at=at,
        data=data or {},
        ip=origin.get(),
    )
    session.add(event)
    return event


def happened(session: Session, action: str, object_id: str) -> bool:
    """Whether `action` was ever recorded on the object (e.g. a postmortem published before)."""
    stmt = select(AuditEvent.id).where(
        AuditEvent.action == action, AuditEvent.object_id == object_id
    )
    return session.exec(stmt.limit(1)).first() is not None


@dataclass(frozen=True)
class AuditFilter:
    """Which events to list: by who (part of the actor), action prefix, object and time."""

    actor: str = ""
    action: str = ""
    object_id: str = ""
    since: datetime | None = None


def list_events(
    session: Session, where: AuditFilter, *, limit: int, offset: int = 0
) -> list[AuditEvent]:
    """Matching events, newest first."""
    stmt = select(AuditEvent)
    if where.actor.strip():
        stmt = stmt.where(col(AuditEvent.actor).contains(where.actor.strip()))
    if where.action.strip():
        stmt = stmt.where(col(AuditEvent.action).startswith(where.action.strip()))
    if where.object_id.strip():
        stmt = stmt.where(AuditEvent.object_id == where.object_id.strip())
    if where.since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= where.since)
    stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    return list(session.exec(stmt.offset(offset).limit(limit)))


def actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter's choices."""
    return sorted(session.exec(select(AuditEvent.action).distinct()).all())

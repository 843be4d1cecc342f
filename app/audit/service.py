"""Writing audit events; callers commit them together with the change they describe."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.models import AuditEvent

# The client address of the request being served ("from where"), set by app.web.origin.
origin: ContextVar[str | None] = ContextVar("audit_origin", default=None)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session (not committed here)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        at=at,
        data=data or {},
        ip=origin.get(),
    )
    session.add(event)
    return event

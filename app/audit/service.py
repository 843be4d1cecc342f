"""Writing audit events; callers commit them together with the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.models import AuditEvent


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
    )
    session.add(event)
    return event

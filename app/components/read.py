"""Reading the page's components back: its overall status, and groups of components."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.components import present
from app.models import OPEN_STATUSES, Component, ComponentStatus, Impact, Incident


def page_status(session: Session) -> tuple[str, str]:
    """The page's (indicator, description) from the components and the unresolved incidents."""
    leaves = [
        ComponentStatus(s)
        for s in session.exec(select(Component.status).where(~col(Component.is_group)))
    ]
    impacts = session.exec(select(Incident.impact).where(col(Incident.status).in_(OPEN_STATUSES)))
    return present.page_status(leaves, (Impact(i).value for i in impacts))


def with_groups(session: Session, component_ids: set[str]) -> set[str]:
    """Component ids plus the ids of their groups (a group subscription covers its children)."""
    if not component_ids:
        return set()
    groups = session.exec(select(Component.group_id).where(col(Component.id).in_(component_ids)))
    return component_ids | {g for g in groups if g}

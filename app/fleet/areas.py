"""Area use cases: set, remove and load areas (staff API, the fleet file). Services only flush."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.errors import NotFound
from app.fleet.config import AreaRule
from app.models import FleetArea, ProbeState


def put_area(
    session: Session, rule: AreaRule, *, actor: str, now: datetime, source: str = "staff"
) -> FleetArea:
    """Create or replace an area."""
    area = session.get(FleetArea, rule.name)
    created = area is None
    if area is None:
        area = FleetArea(name=rule.name, updated_at=now)
    area.rule = rule.model_dump(mode="json")
    area.source, area.updated_at = source, now
    session.add(area)
    action = "fleet_area.created" if created else "fleet_area.updated"
    audit.record(session, actor, action, rule.name, at=now, data={"rule": area.rule})
    session.flush()
    return area


def delete_area(session: Session, name: str, *, actor: str, now: datetime) -> None:
    """Remove an area; its component stays, its hysteresis state goes."""
    area = session.get(FleetArea, name)
    if area is None:
        raise NotFound(f"area {name!r} does not exist")
    session.delete(area)
    state = session.get(ProbeState, AreaRule.model_validate(area.rule).state_name)
    if state is not None:
        session.delete(state)
    audit.record(session, actor, "fleet_area.deleted", name, at=now)
    session.flush()


def load_file_areas(session: Session, rules: list[AreaRule], *, now: datetime) -> None:
    """Make the file's areas current; areas the file set before and no longer names go."""
    named = {r.name for r in rules}
    for rule in rules:
        area = session.get(FleetArea, rule.name)
        if area is None or area.rule != rule.model_dump(mode="json") or area.source != "file":
            put_area(session, rule, actor="config", now=now, source="file")
    stale = session.exec(select(FleetArea).where(col(FleetArea.source) == "file"))
    for area in list(stale):
        if area.name not in named:
            delete_area(session, area.name, actor="config", now=now)


def get_area(session: Session, name: str) -> AreaRule:
    """One area's rule, or NotFound."""
    area = session.get(FleetArea, name)
    if area is None:
        raise NotFound(f"area {name!r} does not exist")
    return AreaRule.model_validate(area.rule)

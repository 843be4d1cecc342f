"""Staff API for the fleet: /api/v1/fleet/areas (the roll-up mapping and each area's chargers
now)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.auth.deps import StaffDep
from app.errors import InvalidInput
from app.fleet import areas
from app.fleet.config import AreaRule
from app.fleet.rollup import count_areas, list_areas
from app.models import FleetArea, ProbeState

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])


class AreaPublic(BaseModel):
    """An area: its rule, where it came from, and its chargers now."""

    name: str
    source: str
    rule: dict[str, Any]
    chargers_total: int
    chargers_failing: int
    status: str | None
    incident_id: str | None


@router.get("/areas")
def list_all(staff: StaffDep) -> list[AreaPublic]:
    """Every area with its chargers now and the status automation declared."""
    session = staff.session
    rules = list_areas(session)
    found = []
    for rule, count in zip(rules, count_areas(session, rules), strict=True):
        row = session.get(FleetArea, rule.name)
        state = session.get(ProbeState, rule.state_name)
        found.append(
            AreaPublic(
                name=rule.name,
                source=row.source if row else "staff",
                rule=rule.model_dump(mode="json", exclude={"kind"}),
                chargers_total=count.total,
                chargers_failing=count.failing,
                status=state.active.value if state else None,
                incident_id=state.incident_id if state else None,
            )
        )
    return found


@router.put("/areas/{name}")
def put(name: str, rule: dict[str, Any], staff: StaffDep) -> dict[str, Any]:
    """Create or replace an area (the body is an [[area]] table as JSON, name optional)."""
    if rule.get("name", name) != name:
        raise InvalidInput("the body's name differs from the URL's")
    try:
        parsed = AreaRule.model_validate({**rule, "name": name})
    except ValueError as exc:
        raise InvalidInput(str(exc).replace("\n", " ")) from exc
    areas.put_area(staff.session, parsed, actor=staff.actor, now=staff.now)
    return parsed.model_dump(mode="json", exclude={"kind"})


@router.delete("/areas/{name}", status_code=204)
def delete(name: str, staff: StaffDep) -> None:
    """Remove an area (its component stays)."""
    areas.delete_area(staff.session, name, actor=staff.actor, now=staff.now)

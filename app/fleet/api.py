"""Staff API for the fleet: /api/v1/fleet/areas (the roll-up mapping and each area's chargers
now)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from app.auth.deps import StaffDep
from app.errors import InvalidInput, beyond_schema
from app.fleet import areas, reliability
from app.fleet.config import AreaRule
from app.fleet.rollup import count_areas, list_areas
from app.models import FleetArea, ProbeState, ReliabilityExclusion
from app.schemas import TIME_RANGE, ApiTime, UtcDatetime

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


def _problems(exc: ValidationError) -> str:
    """Each problem as `field: message`, in one line ("component: Field required")."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(table)'}: {e['msg']}" for e in exc.errors()
    )


# An [[area]] table as JSON: `component` and at least one criterion; the rest as in the file.
AreaTable = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "required": ["component"],
            "properties": {
                "name": {"type": "string", "description": "The URL's, if given"},
                "component": {"type": "string", "minLength": 1, "maxLength": 255},
                **{
                    criterion: {"type": "array", "items": {"type": "string"}}
                    for criterion in ("countries", "cities", "operators", "location_ids", "peers")
                },
            },
        }
    ),
    Body(description="The area's [[area]] table of the fleet file, as JSON"),
]


@router.put(
    "/areas/{name}",
    responses=beyond_schema(
        "a name in the body other than the URL's",
        "no criterion (countries, cities, operators or location_ids)",
        "thresholds that do not rise (degraded <= partial <= major)",
        "a field an area does not take, or a value it refuses (as in the fleet file)",
        "a NUL character anywhere in the body",
    ),
)
def put(name: str, rule: AreaTable, staff: StaffDep) -> dict[str, Any]:
    """Create or replace an area (the body is an [[area]] table as JSON, name optional)."""
    if rule.get("name", name) != name:
        raise InvalidInput("the body's name differs from the URL's")
    try:
        parsed = AreaRule.model_validate({**rule, "name": name})
    except ValidationError as exc:
        raise InvalidInput(_problems(exc)) from exc
    areas.put_area(staff.session, parsed, actor=staff.actor, now=staff.now)
    return parsed.model_dump(mode="json", exclude={"kind"})


@router.delete("/areas/{name}", status_code=204)
def delete(name: str, staff: StaffDep) -> None:
    """Remove an area (its component stays)."""
    areas.delete_area(staff.session, name, actor=staff.actor, now=staff.now)


class ExclusionIn(BaseModel):
    """Time taken out of the reliability figure: a network (peer), location or EVSE."""

    model_config = ConfigDict(extra="forbid")

    peer: str | None = Field(default=None, max_length=64, description="ocpi probe name")
    location_id: str | None = Field(default=None, max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: Literal[
        "vandalism",
        "grid_outage",
        "extreme_weather",
        "third_party_damage",
        "site_access",
        "other_outside_control",
    ]
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> ExclusionIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.evse_uid is not None and self.location_id is None:
            raise ValueError("an evse_uid needs its location_id")
        return self


class ExclusionOut(ExclusionIn):
    """A recorded exclusion."""

    model_config = ConfigDict(extra="ignore")

    id: str
    created_by: str
    created_at: ApiTime


@router.get(
    "/reliability",
    responses=beyond_schema(
        "a year together with start or end",
        "start without end or the other way round",
        "an end before start",
        "a range longer than ten years",
        "a period that has not begun yet",
    ),
)
def get_reliability(
    staff: StaffDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The reliability figure for the network and each area, with every rapid EVSE's."""
    win = reliability.asked_window(staff.settings.tz, staff.now, year, start, end)
    network, per_area = reliability.report(
        staff.session, win, areas=list_areas(staff.session), tz=staff.settings.tz
    )
    found = reliability.as_json(win, network, per_area)
    found["chargers"] = [
        {
            "location_id": e.location_id,
            "evse_uid": e.uid,
            "evse_id": e.evse_id,
            "power_kw": e.power_kw,
            "reliable_hours": round(e.reliable_s / 3600, 4),
            "not_reliable_hours": round(e.unreliable_s / 3600, 4),
            "excluded_hours": round(e.excluded_s / 3600, 4),
            "reliability_percent": None if e.reliability is None else round(e.reliability * 100, 4),
        }
        for e in network.evses
    ]
    return found


@router.get("/reliability/exclusions")
def get_exclusions(staff: StaffDep) -> list[ExclusionOut]:
    """Every recorded exclusion."""
    rows = reliability.list_exclusions(staff.session)
    return [ExclusionOut.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/reliability/exclusions",
    status_code=201,
    responses=beyond_schema(
        "an ends_at not later than starts_at", "an evse_uid without its location_id", TIME_RANGE
    ),
)
def post_exclusion(data: ExclusionIn, staff: StaffDep, response: Response) -> ExclusionOut:
    """Record an exclusion."""
    row = ReliabilityExclusion(**data.model_dump(), created_by=staff.actor, created_at=staff.now)
    reliability.add_exclusion(staff.session, row, actor=staff.actor, now=staff.now)
    response.headers["Location"] = router.url_path_for("get_exclusion", exclusion_id=row.id)
    return ExclusionOut.model_validate(row, from_attributes=True)


@router.get("/reliability/exclusions/{exclusion_id}")
def get_exclusion(exclusion_id: str, staff: StaffDep) -> ExclusionOut:
    """One exclusion."""
    row = reliability.get_exclusion(staff.session, exclusion_id)
    return ExclusionOut.model_validate(row, from_attributes=True)


@router.delete("/reliability/exclusions/{exclusion_id}", status_code=204)
def remove_exclusion(exclusion_id: str, staff: StaffDep) -> None:
    """Remove an exclusion."""
    reliability.delete_exclusion(staff.session, exclusion_id, actor=staff.actor, now=staff.now)

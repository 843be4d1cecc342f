"""Public uptime JSON: /api/v2/components/{id}/uptime.json (a Pharos extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.cacheable import PublicRoute
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import ReadSessionDep
from app.errors import beyond_schema
from app.uptime import ranges, service
from app.uptime.schemas import ComponentUptime

router = APIRouter(
    prefix="/api/v2/components",
    tags=["public API v2 (Statuspage-compatible)"],
    route_class=PublicRoute,
)
FROM = Query(
    alias="from",
    json_schema_extra=ranges.DAY_OR_EMPTY,
    description="First local day (YYYY-MM-DD) of a range of up to ten years; default: the "
    "last 90 days",
)
TO = Query(
    description="Last local day (YYYY-MM-DD), included; default and at most: today",
    json_schema_extra=ranges.DAY_OR_EMPTY,
)


@router.get("/{component_id}/uptime.json", responses=beyond_schema(*ranges.RANGE_RULES))
def component_uptime(
    component_id: str,
    response: Response,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    first: Annotated[str | None, FROM] = None,
    to: Annotated[str | None, TO] = None,
) -> ComponentUptime:
    """Seconds in each status and uptime % per day of the page's zone: the last 90 days, or
    the days from `from` to `to`."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    now = clock()
    span = ranges.parse_range(first, to, today=now.astimezone(settings.tz).date())
    if span is None:
        return service.component_uptime(session, component_id, settings=settings, now=now)
    with ranges.reading_slot():
        return service.component_uptime(
            session, component_id, settings=settings, now=now, span=(span.first, span.last)
        )

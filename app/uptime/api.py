"""Public uptime JSON: /api/v2/components/{id}/uptime.json (a Pharos extension)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.cacheable import PublicRoute
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import ReadSessionDep
from app.uptime import service
from app.uptime.schemas import ComponentUptime

router = APIRouter(
    prefix="/api/v2/components",
    tags=["public API v2 (Statuspage-compatible)"],
    route_class=PublicRoute,
)


@router.get("/{component_id}/uptime.json")
def component_uptime(
    component_id: str,
    response: Response,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ComponentUptime:
    """Seconds in each status and uptime % per day of the page's zone, last 90 days."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return service.component_uptime(session, component_id, settings=settings, now=clock())

"""Response shapes of /api/v2/components/{id}/uptime.json (a Pharos extension of Statuspage)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.models import ComponentStatus


class UptimeComponent(BaseModel):
    """Which component the figures are of."""

    id: str
    name: str


class UptimeWeights(BaseModel):
    """Share of each status's time counted as downtime; maintenance is left out of the total."""

    major_outage: float
    partial_outage: float
    degraded_performance: float


class DayUptime(BaseModel):
    """One local day: seconds in each status and the day's uptime."""

    date: date
    seconds: dict[ComponentStatus, float] = Field(
        description="Seconds in each status; all zero before the component existed"
    )
    uptime_percent: float | None = Field(
        description="null when the day has no time outside maintenance (or no data)"
    )


class ComponentUptime(BaseModel):
    """A component's daily figures over the last 90 days, oldest first, today last."""

    component: UptimeComponent
    time_zone: str
    weights: UptimeWeights
    uptime_percent: float | None
    days: list[DayUptime]

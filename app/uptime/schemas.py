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


class PeriodUptime(BaseModel):
    """A component's or group's figures over some local days (both ends included)."""

    period: str = Field(description='"2025-09" (a month), "2025" (a year), or "from/to"')
    first_day: date
    last_day: date
    uptime_percent: float | None = Field(
        description="null when the period has no time outside maintenance (or no data)"
    )
    minutes: dict[ComponentStatus, float] = Field(
        description="Minutes in each status; a group's are its components' summed"
    )
    incidents: int = Field(
        description="Incidents (not maintenance) open during the period that affected it"
    )


class RangeUptimeRow(BaseModel):
    """A showcased component, or a group over its showcased components."""

    id: str
    name: str
    is_group: bool
    group_id: str | None
    total: PeriodUptime
    years: list[PeriodUptime]
    months: list[PeriodUptime]


class RangeUptime(BaseModel):
    """Uptime of every showcased component and group over a range of local days."""

    first_day: date
    last_day: date
    time_zone: str
    weights: UptimeWeights
    components: list[RangeUptimeRow]

"""Response shapes of the staff probe API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.models import ComponentStatus
from app.schemas import ApiTime


class ProbeResultPublic(BaseModel):
    """One run: what latency charts plot, and the evidence behind it."""

    at: ApiTime
    status: ComponentStatus
    latency_ms: float | None
    error_classes: list[str]
    evidence: dict[str, Any]


class ProbeStatePublic(BaseModel):
    """Where a probe stands and what automation did about it."""

    name: str
    component_id: str | None
    backend_group: str
    active_status: ComponentStatus
    consecutive_failures: int
    consecutive_successes: int
    failing_since: ApiTime | None
    incident_id: str | None
    recovered_at: ApiTime | None
    last_run_at: ApiTime | None
    last_status: ComponentStatus | None
    last_latency_ms: float | None
    last_error_classes: list[str]
    recent_results: list[ProbeResultPublic]

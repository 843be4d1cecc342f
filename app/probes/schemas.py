"""Response shapes of the staff probe API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from app.models import ComponentStatus


class ProbeResultPublic(BaseModel):
    """One run: what latency charts plot, and the evidence behind it."""

    at: datetime
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
    failing_since: datetime | None
    incident_id: str | None
    recovered_at: datetime | None
    last_run_at: datetime | None
    last_status: ComponentStatus | None
    last_latency_ms: float | None
    last_error_classes: list[str]
    recent_results: list[ProbeResultPublic]

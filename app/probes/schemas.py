"""Response shapes of the staff probe API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

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
    source: Literal["file", "managed", "area"] = Field(
        default="file", description="Where it is defined: the probes file, staff, a fleet area"
    )
    paused: bool = False
    shadowed: bool = Field(
        default=False, description="Managed, but the probes file defines the same name (wins)"
    )
    definition: dict[str, Any] | None = Field(
        default=None, description="Its table in the probes file's shape (secrets masked)"
    )
    silenced_by: str | None = Field(
        default=None, description="The maintenance keeping a confirmed problem quiet"
    )
    cert_expires_at: ApiTime | None = Field(
        default=None, description="The backend's TLS certificate's expiry (wss:// probes)"
    )
    cert_subject: str | None = None
    recent_results: list[ProbeResultPublic]


class ProbeRunPublic(BaseModel):
    """What "run now" found."""

    probe: str
    recorded: bool = Field(description="Counted by the rules (not when the probe is paused)")
    result: dict[str, Any]

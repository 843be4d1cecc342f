"""What one probe run found: its checks with timings and error classes, and a status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.models import ComponentStatus


@dataclass
class Check:
    """One timed step of a probe run (a connect, a CALL, a propagation wait, a request)."""

    name: str
    target: str
    ok: bool
    latency_ms: float | None = None
    error_class: str | None = None
    detail: str = ""
    slow: bool = False

    def as_json(self) -> dict[str, Any]:
        """The evidence kept with results and audit events."""
        return {
            "name": self.name,
            "target": self.target,
            "ok": self.ok,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "error_class": self.error_class,
            "detail": self.detail[:300],
            "slow": self.slow,
        }


@dataclass
class ProbeRun:
    """The outcome of running one probe once."""

    probe: str
    status: ComponentStatus
    checks: list[Check] = field(default_factory=list)
    # What made it unhealthy, for incident templates: "down", "stalled", "slow" or None.
    problem: str | None = None
    # A quick re-probe confirming a decision (not a scheduled run).
    confirmation: bool = False
    # Run by staff ("run now"), not by the schedule.
    manual: bool = False
    # The backend's TLS certificate (wss://): {"not_after": ISO time, "subject": ...}.
    cert: dict[str, Any] | None = None
    # (affected, total) chargers, for a roll-up's structured impact (app.fleet).
    chargers: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        """Healthy: the component would be operational on this result alone."""
        return self.status == ComponentStatus.operational

    @property
    def latency_ms(self) -> float | None:
        """The slowest successful step: the figure latency charts show."""
        values = [c.latency_ms for c in self.checks if c.ok and c.latency_ms is not None]
        return max(values, default=None)

    @property
    def error_classes(self) -> list[str]:
        """Distinct error classes of failed steps, in order of appearance."""
        seen: list[str] = []
        for check in self.checks:
            if check.error_class and check.error_class not in seen:
                seen.append(check.error_class)
        return seen

    def evidence(self) -> dict[str, Any]:
        """Everything a staff member needs to see why automation acted."""
        return {
            "probe": self.probe,
            "status": self.status.value,
            "problem": self.problem,
            "confirmation": self.confirmation,
            "manual": self.manual,
            "error_classes": self.error_classes,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "checks": [c.as_json() for c in self.checks],
            "cert": self.cert,
        }


def verdict(
    per_target: dict[str, str],
    *,
    on_failure: str,
    on_partial_failure: str,
    on_slow: str,
) -> tuple[ComponentStatus, str | None]:
    """Combine per-target findings ("ok", "slow", "stalled", "down") into a status.

    Every target down is a failure; some down, or any stalled, is a partial failure;
    anything slow is slow.
    """
    found = set(per_target.values())
    if found and found == {"down"}:
        return ComponentStatus(on_failure), "down"
    if "down" in found:
        return ComponentStatus(on_partial_failure), "down"
    if "stalled" in found:
        return ComponentStatus(on_partial_failure), "stalled"
    if "slow" in found:
        return ComponentStatus(on_slow), "slow"
    return ComponentStatus.operational, None

"""Areas: which locations roll up into which component, and when their share of failing
chargers is a problem. Read from the fleet TOML file ([[area]] tables) or set by staff."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from app.probes.config import ProbeBase

AREA_PREFIX = "area:"


class AreaRule(ProbeBase):
    """One area: a component whose status follows its chargers.

    A location belongs to the area when it matches every criterion given (countries, cities,
    operators, location ids; each a list of alternatives). The hysteresis fields are the
    probes' (failures_to_open evaluations in a row open an incident, successes_to_recover
    close it, quiet_period before resolving).
    """

    kind: Literal["area"] = "area"
    # Evaluations are not re-probed at once (a probe's are), so each one waits an interval.
    failures_to_open: int = Field(default=3, ge=1, le=100)
    name: str = Field(min_length=1, max_length=48, pattern=r"^[^/]+$")
    countries: list[str] = Field(default_factory=list, description="ISO 3166 alpha-3, e.g. NOR")
    cities: list[str] = Field(default_factory=list)
    operators: list[str] = Field(default_factory=list, description="Location operator names")
    location_ids: list[str] = Field(default_factory=list)
    peers: list[str] = Field(default_factory=list, description="ocpi probe names")
    degraded: float = Field(default=0.05, gt=0, le=1, description="Share failing: degraded")
    partial: float = Field(default=0.2, gt=0, le=1, description="Share failing: partial outage")
    major: float = Field(default=0.5, gt=0, le=1, description="Share failing: major outage")
    min_failing: int = Field(
        default=2, ge=1, description="Fewer failing chargers than this is never a problem"
    )

    @model_validator(mode="after")
    def _ordered(self) -> AreaRule:
        if not self.degraded <= self.partial <= self.major:
            raise ValueError("thresholds must rise: degraded <= partial <= major")
        if not (self.countries or self.cities or self.operators or self.location_ids):
            raise ValueError("give at least one of countries, cities, operators, location_ids")
        return self

    @property
    def state_name(self) -> str:
        """The probe_state row that carries this area's hysteresis."""
        return AREA_PREFIX + self.name


class FleetConfigError(ValueError):
    """The fleet file can't be used; the message names the bad field."""


def parse_areas(data: dict[str, Any], *, source: str = "fleet") -> list[AreaRule]:
    """Validate parsed TOML ({"area": [...]})."""
    unknown = set(data) - {"area"}
    if unknown:
        raise FleetConfigError(f"{source}: unknown table(s) {', '.join(sorted(unknown))}")
    areas = data.get("area", [])
    if not isinstance(areas, list):
        raise FleetConfigError(f"{source}: area must be an array of tables ([[area]])")
    found: list[AreaRule] = []
    for n, table in enumerate(areas):
        try:
            found.append(AreaRule.model_validate(table))
        except ValidationError as exc:
            where = table.get("name") if isinstance(table, dict) else None
            head = f'area "{where}"' if isinstance(where, str) else f"area #{n + 1}"
            lines = [
                f"{'.'.join(map(str, e['loc'])) or '(table)'}: {e['msg']}" for e in exc.errors()
            ]
            raise FleetConfigError(f"{source}: {head}: " + "; ".join(lines)) from exc
    names = [a.name for a in found]
    if len(set(names)) != len(names):
        raise FleetConfigError(f"{source}: area names must be unique")
    return found


def load_areas(path: str | Path) -> list[AreaRule]:
    """Read and validate the fleet TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetConfigError(f"{path}: can't read the fleet file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FleetConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_areas(data, source=str(path))

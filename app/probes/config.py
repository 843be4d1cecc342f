"""Probe definitions: the TOML file format, validated with errors that name the bad field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from "250ms", "15s", "15m", "1h" or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a string like '15s' or '15m', or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(
            f"invalid duration {value!r}: use a number with a unit, like '500ms', '15s', '15m'"
        )
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
Problem = Literal["degraded_performance", "partial_outage", "major_outage"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Propagation(_Strict):
    """End-to-end check: the probe's nonce must show up in the backend's data (1.6: in the
    StatusNotification's `info`; 2.x: in a NotifyEvent's `techInfo`)."""

    url: str = Field(description="HTTP URL; {charge_point_id} is replaced")
    json_pointer: str | None = Field(default=None, description="Where the nonce must appear")
    metric: str | None = Field(
        default=None, description="Prometheus sample name whose label `info` must carry the nonce"
    )
    timeout: Duration = 10.0
    poll_every: Duration = 0.25
    lag_degraded: Duration = 5.0

    @model_validator(mode="after")
    def _one_target(self) -> Propagation:
        if (self.json_pointer is None) == (self.metric is None):
            raise ValueError("give exactly one of json_pointer or metric")
        if self.json_pointer is not None and not self.json_pointer.startswith("/"):
            raise ValueError("json_pointer must start with '/' (RFC 6901)")
        return self


class Command(_Strict):
    """Command delivery check: an HTTP call makes the backend send RemoteStartTransaction
    (1.6) or RequestStartTransaction (2.x), which the probe answers Rejected."""

    url: str = Field(description="HTTP URL; {charge_point_id} is replaced")
    method: Literal["GET", "POST", "PUT"] = "POST"
    json_body: dict[str, Any] | None = None
    timeout: Duration = 10.0
    slow: Duration = 5.0


class Watch(_Strict):
    """A long-lived charger connection between runs (the connection watch)."""

    charge_point_id: str = Field(
        min_length=1, max_length=48, description="Its own id: never one the runs use"
    )
    ping_every: Duration = Field(
        default=5.0, description="WebSocket ping; no pong within as long drops the connection"
    )
    heartbeat_every: Duration = Field(default=30.0, description="OCPP Heartbeat CALL")


class MetricRule(_Strict):
    """One condition on a scraped Prometheus sample; violated means the probe is unhealthy."""

    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    rate: bool = Field(
        default=False,
        description="Compare the per-second rate (counters); implied by below_rate_of",
    )
    max: float | None = None
    min: float | None = None
    below_rate_of: str | None = Field(
        default=None, description="Violated when rate(metric) < ratio * rate(this counter)"
    )
    ratio: float = Field(default=1.0, gt=0)
    status: Problem = "degraded_performance"

    @model_validator(mode="after")
    def _has_condition(self) -> MetricRule:
        if self.max is None and self.min is None and self.below_rate_of is None:
            raise ValueError("a rule needs max, min or below_rate_of")
        return self


class ProbeBase(_Strict):
    """Fields every probe has: what it watches, how often, and when it opens incidents."""

    name: str = Field(min_length=1, max_length=64)
    component: str = Field(min_length=1, max_length=255, description="Component name or id")
    group: str | None = Field(
        default=None, description="Backend group: failing probes of one group share an incident"
    )
    interval: Duration = 15.0
    timeout: Duration = 10.0
    slow: Duration = 2.0
    failures_to_open: int = Field(default=5, ge=1, le=100)
    successes_to_recover: int = Field(default=2, ge=1, le=100)
    confirm_quickly: bool = Field(
        default=True,
        description="After a result that starts or ends a problem, run the re-probes the "
        "decision still needs at once (spaced confirm_spacing apart), not one per interval",
    )
    confirm_spacing: Duration = 1.0
    failing_for: Duration | None = Field(
        default=None, description="Also open once failing this long, however few results"
    )
    quiet_period: Duration = 900.0
    on_failure: Problem = "major_outage"
    on_partial_failure: Problem = "partial_outage"
    on_slow: Problem = "degraded_performance"
    incident_name: str | None = Field(default=None, max_length=255)
    incident_body: str | None = Field(default=None, max_length=2000)
    public_latency: bool = Field(
        default=False,
        description="Chart this probe's response time (and processing lag) publicly, on its "
        "component's latency page and in /api/v2/components/{id}/latency.json",
    )

    @property
    def backend_group(self) -> str:
        """The group whose failing probes share one incident (the probe itself by default)."""
        return self.group or f"probe:{self.name}"

    def budget(self) -> float:
        """The longest one run may take before it counts as a timeout (kinds add their steps)."""
        return self.timeout + 2.0


class OcppProbe(ProbeBase):
    """What every synthetic OCPP charge point needs: where, who, and how it authenticates."""

    url: str
    charge_point_ids: list[str] = Field(min_length=1, max_length=20)
    security_profile: Literal[0, 1, 2, 3] | None = Field(
        default=None,
        description="OCPP security profile: 0 none, 1 Basic auth, 2 TLS + Basic auth, "
        "3 TLS client certificate; checked against the other fields (default: inferred)",
    )
    username: str | None = Field(default=None, description="Basic auth (security profile 1/2)")
    password: str | None = None
    ca_file: str | None = Field(default=None, description="CA bundle for wss:// (profile 2/3)")
    client_cert: str | None = Field(default=None, description="PEM certificate (profile 3)")
    client_key: str | None = Field(default=None, description="PEM private key (profile 3)")
    connector_id: int = Field(default=1, ge=0)
    propagation: Propagation | None = None
    command: Command | None = None
    watch: Watch | None = None

    @field_validator("url")
    @classmethod
    def _ws(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("an OCPP probe url starts with ws:// or wss://")
        return value.rstrip("/")

    @field_validator("charge_point_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        for cp_id in value:
            if not cp_id or len(cp_id) > 48 or "/" in cp_id:
                raise ValueError(f"invalid charge point id {cp_id!r}")
        if len(set(value)) != len(value):
            raise ValueError("charge point ids must be unique")
        return value

    @model_validator(mode="after")
    def _auth_pair(self) -> OcppProbe:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password for Basic auth, or neither")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("give both client_cert and client_key, or neither")
        tls = self.url.startswith("wss://")
        basic = self.username is not None
        needs = {
            0: (not basic and self.client_cert is None, "no credentials"),
            1: (basic and not tls, "ws:// with username and password"),
            2: (basic and tls, "wss:// with username and password"),
            3: (tls and self.client_cert is not None, "wss:// with client_cert and client_key"),
        }
        if self.security_profile is not None:
            ok, what = needs[self.security_profile]
            if not ok:
                raise ValueError(f"security profile {self.security_profile} needs {what}")
        if self.client_cert is not None and not tls:
            raise ValueError("a client certificate needs a wss:// url")
        if self.watch is not None and self.watch.charge_point_id in self.charge_point_ids:
            raise ValueError("watch.charge_point_id must differ from the charge_point_ids")
        return self

    def budget(self) -> float:
        """Connect and three CALLs, then the propagation and command waits."""
        extra = 4 * self.timeout
        extra += self.propagation.timeout if self.propagation else 0.0
        extra += self.command.timeout if self.command else 0.0
        return self.timeout + extra + 2.0


class Ocpp16Probe(OcppProbe):
    """A synthetic OCPP 1.6J charge point."""

    kind: Literal["ocpp16"]


class Ocpp2Probe(OcppProbe):
    """A synthetic OCPP 2.0.1 or 2.1 charging station (one EVSE, one connector)."""

    kind: Literal["ocpp201", "ocpp21"]
    evse_id: int = Field(default=1, ge=1)


class HttpProbe(ProbeBase):
    """GET or HEAD a URL."""

    kind: Literal["http"]
    url: str
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    body_contains: str | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an http probe url starts with http:// or https://")
        return value


class MetricsProbe(ProbeBase):
    """Scrape a Prometheus text endpoint and check rules on its samples."""

    kind: Literal["metrics"]
    url: str
    rules: list[MetricRule] = Field(min_length=1)


class OcpiProbe(ProbeBase):
    """An OCPI 2.2.1 platform's Locations: EVSE statuses for the fleet roll-up (app.fleet)."""

    kind: Literal["ocpi"]
    versions_url: str = Field(description="The platform's OCPI versions endpoint")
    token: str = Field(min_length=1, max_length=255, description="Credentials token A (or C)")
    handshake: bool = Field(
        default=True, description="Run the credentials handshake with `token` as Token A"
    )
    country_code: str = Field(default="NO", pattern=r"^[A-Z]{2}$", description="Ours, ISO 3166")
    party_id: str = Field(default="PHA", pattern=r"^[A-Z0-9]{3}$", description="Ours")
    full_read_every: Duration = Field(
        default=3600.0, description="A full read this often; incremental (date_from) between"
    )
    receiver: bool = Field(
        default=True, description="Offer our Locations receiver for pushed updates"
    )
    interval: Duration = 60.0

    def budget(self) -> float:
        """Handshake, discovery and every page of a full read."""
        return 21 * self.timeout + 2.0

    @field_validator("versions_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an ocpi versions_url starts with http:// or https://")
        return value


# Every kind's config class; a new kind adds its class here and its runner in kinds.py.
ProbeConfig = Annotated[
    Ocpp16Probe | Ocpp2Probe | HttpProbe | MetricsProbe | OcpiProbe, Field(discriminator="kind")
]
KIND_NAMES = frozenset(
    literal
    for cls in get_args(get_args(ProbeConfig)[0])
    for literal in get_args(cls.model_fields["kind"].annotation)
)


class ProbesFile(_Strict):
    """The whole file: a list of [[probe]] tables."""

    probe: list[ProbeConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ProbesFile:
        names = [p.name for p in self.probe]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"probe names must be unique: {', '.join(duplicates)}")
        return self


class ProbeConfigError(ValueError):
    """The probes file can't be used; the message names the file and the bad fields."""


def _where(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """probe[0].propagation.timeout -> probe "ocpp-backend": propagation.timeout."""
    parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "probe" and isinstance(loc[1], int):
        probes = data.get("probe", [])
        name = probes[loc[1]].get("name") if loc[1] < len(probes) else None
        head = f'probe "{name}"' if isinstance(name, str) else f"probe #{loc[1] + 1}"
        rest = [p for p in parts[2:] if p not in KIND_NAMES]
        return f"{head}: {'.'.join(rest) or '(table)'}"
    return ".".join(parts) or "(file)"


def parse_probes(data: dict[str, Any], *, source: str = "probes") -> list[ProbeConfig]:
    """Validate already-parsed TOML data."""
    try:
        return list(ProbesFile.model_validate(data).probe)
    except ValidationError as exc:
        lines = [f"{_where(e['loc'], data)}: {e['msg']}" for e in exc.errors()]
        raise ProbeConfigError(f"{source}: " + "; ".join(lines)) from exc


def load_probes(path: str | Path) -> list[ProbeConfig]:
    """Read and validate a probes TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProbeConfigError(f"{path}: can't read the probes file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProbeConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_probes(data, source=str(path))

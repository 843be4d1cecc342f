"""Settings: the only place that reads the environment (prefix PHAROS_)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.i18n import LANGUAGES


class Settings(BaseSettings):
    """Runtime configuration; every field maps to a PHAROS_<NAME> environment variable."""

    model_config = SettingsConfigDict(env_prefix="PHAROS_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./pharos.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db",
    )
    page_name: str = Field(default="Pharos", min_length=1, description="Name shown on the page")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Absolute URL the public page is reached at (links, shortlinks)",
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone the page shows times in, e.g. Europe/Oslo"
    )
    language: str = Field(
        default="en",
        description="The page's default language (en, nb, sv, da, fi, de, fr, nl, es); readers "
        "choose another by Accept-Language or a /{lang}/ prefix",
    )
    max_request_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest accepted request body (413 above)"
    )
    log_level: str = Field(default="info", description="Server log level (granian or uvicorn)")
    run_workers: bool = Field(
        default=True, description="Run background workers (webhook delivery) inside serve"
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on loopback/private networks"
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="Per-request timeout of a webhook delivery"
    )
    subscribe_limit_per_address: int = Field(
        default=10, ge=1, description="Public subscriptions one client address may ask for per hour"
    )
    subscribe_limit_per_target: int = Field(
        default=5, ge=1, description="Public subscriptions one target host may be given per hour"
    )
    subscribe_max_per_host: int = Field(
        default=20, ge=1, description="Subscriptions one target host may hold at most"
    )
    webhook_verify_timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="Time a webhook has to answer its verification"
    )
    webhook_concurrency: int = Field(
        default=64, ge=1, le=1024, description="Webhook requests in flight per worker"
    )
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a claimed delivery is reserved for a worker"
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle worker looks for due work"
    )
    render_cache: bool = Field(
        default=True, description="Serve public pages, JSON and feeds as pre-rendered bytes"
    )
    render_cache_max_mb: int = Field(
        default=64, ge=1, description="Memory the render cache may hold, in MiB"
    )
    render_cache_ttl_seconds: float = Field(
        default=60.0, gt=0, description="Re-render a cached answer at least this often"
    )
    data_version_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="How often a replica checks the database for changes made elsewhere",
    )
    uptime_partial_outage_weight: float = Field(
        default=0.3, ge=0, le=1, description="Share of partial-outage time counted as downtime"
    )
    uptime_degraded_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of degraded-performance time counted as downtime",
    )
    export_dir: Path | None = Field(
        default=None,
        description="Folder `pharos serve` keeps a static copy of the public site in",
    )
    probes_file: str = Field(
        default="", description="TOML file of backend probes that drive automatic incidents"
    )
    fleet_file: str = Field(
        default="", description="TOML file of [[area]] roll-ups of OCPI chargers into components"
    )
    reliability_page: bool = Field(
        default=False,
        description="Publish /reliability/ (and its CSV and JSON): the chargers' reliability",
    )
    admin_session_idle_minutes: int = Field(
        default=120, ge=1, description="Admin UI sign-out after this long without a request"
    )
    admin_session_max_hours: int = Field(
        default=12, ge=1, description="Admin UI sign-out this long after signing in, at the latest"
    )
    admin_login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins that lock an account for the lock-out time"
    )
    admin_login_ip_max_failures: int = Field(
        default=20, ge=1, description="Failed sign-ins that lock out one address"
    )
    admin_login_lockout_minutes: int = Field(
        default=15, ge=1, description="Window failed sign-ins are counted in, and lock-out time"
    )
    statuspage_api_key: SecretStr | None = Field(
        default=None,
        description="Statuspage API key for `pharos import statuspage` (or --api-key-file)",
    )

    @model_validator(mode="after")
    def _lease_outlives_request(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be longer than webhook_timeout_seconds")
        return self

    @field_validator("language")
    @classmethod
    def _shipped_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"unknown language {value!r}; shipped: {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return value.rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        """The page's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def page_id(self) -> str:
        """A stable 12-character page id derived from the public URL (Statuspage's id shape)."""
        digest = hashlib.sha256(self.public_url.encode()).digest()
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        return "".join(alphabet[b % 36] for b in digest[:12])


def get_settings(request: Request) -> Settings:
    """The settings the running app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

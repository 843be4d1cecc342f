"""Settings: the only place that reads the environment (prefix PHAROS_)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contrast import accent_problem
from app.i18n import LANGUAGES


class Settings(BaseSettings):
    """Runtime configuration; every field maps to a PHAROS_<NAME> environment variable."""

    model_config = SettingsConfigDict(env_prefix="PHAROS_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./pharos.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db",
    )
    page_name: str = Field(default="Pharos", min_length=1, description="Name shown on the page")
    brand_title: str | None = Field(
        default=None, description='The page\'s title, instead of "<page name> Status"'
    )
    brand_logo_url: str | None = Field(default=None, description="Logo in the page header")
    brand_logo_dark_url: str | None = Field(
        default=None, description="Logo for readers whose system uses a dark colour scheme"
    )
    brand_favicon_url: str | None = Field(default=None, description="The page's favicon")
    brand_accent: str | None = Field(
        default=None,
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="Accent colour of links and buttons, e.g. #0a6e5c: at least 4.5:1 contrast "
        "against white (a dark colour scheme gets a lighter shade of it)",
    )
    brand_footer_links: str = Field(
        default="",
        description="Footer links: 'Label|https://url' pairs separated by commas",
    )
    embed_origins: str = Field(
        default="",
        description="Origins allowed to frame the status embed (/embed/), comma-separated, "
        "e.g. https://portal.example.com; empty: no site may",
    )
    brand_css_file: Path | None = Field(
        default=None, description="A CSS file served after the page's own (/brand.css)"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Absolute URL the public page is reached at (links, shortlinks); "
        "`pharos serve` defaults it to the address and port it listens on",
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
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses/networks of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed",
    )
    run_workers: bool = Field(
        default=True, description="Run background workers (webhook delivery) inside serve"
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on loopback/private networks"
    )
    ocpi_allow_private: bool = Field(
        default=False,
        description="Allow URLs an OCPI platform hands out on loopback/private networks "
        "(those on the configured versions URL's host are always allowed)",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts credentials Pharos must send back (the OCPI Token C) in the "
        "database, and signs subscriber links (changing it invalidates the links sent); a long "
        "random string, kept out of the database",
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
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail relay: smtp://user:pass@host:587 (STARTTLS) or smtps://...:465; "
        "without it (and mail_from) email subscriptions are off",
    )
    mail_from: str | None = Field(
        default=None, description='Sender of subscriber email, e.g. "Zaptec Status <status@x>"'
    )
    smtp_concurrency: int = Field(
        default=8, ge=1, le=100, description="SMTP connections each worker keeps open"
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="Timeout of one SMTP command"
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

    @field_validator("brand_accent")
    @classmethod
    def _readable_accent(cls, value: str | None) -> str | None:
        problem = accent_problem(value.lower()) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("brand_footer_links")
    @classmethod
    def _links(cls, value: str) -> str:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            label, _, url = pair.partition("|")
            if not label.strip() or not url.strip().startswith(("https://", "http://", "/")):
                raise ValueError(f"footer link {pair!r}: write 'Label|https://url'")
        return value

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (o.strip() for o in value.split(","))):
            scheme, _, rest = origin.partition("://")
            if scheme not in ("https", "http") or not rest or "/" in rest or " " in rest:
                raise ValueError(f"embed origin {origin!r}: write https://host[:port]")
        return value

    @property
    def embed_origin_list(self) -> list[str]:
        """Origins that may frame the embed."""
        return [o.strip() for o in self.embed_origins.split(",") if o.strip()]

    @property
    def footer_links(self) -> list[tuple[str, str]]:
        """The footer's (label, url) pairs."""
        pairs = filter(None, (p.strip() for p in self.brand_footer_links.split(",")))
        return [(label.strip(), url.strip()) for label, _, url in (p.partition("|") for p in pairs)]

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

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("smtp_url must start with smtp:// (STARTTLS) or smtps:// (TLS)")
        return value

    @property
    def email_enabled(self) -> bool:
        """Email subscriptions are offered only with a mail relay and a sender."""
        return self.smtp_url is not None and bool(self.mail_from)

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


def listening_url(host: str, port: int) -> str:
    """The URL a server bound to host:port is reached at from this machine.

    The default public URL of `pharos serve` when PHAROS_PUBLIC_URL is not set. A wildcard
    address (0.0.0.0, ::) names no host, so loopback stands in: set PHAROS_PUBLIC_URL then.
    """
    if host in ("", "0.0.0.0"):  # noqa: S104  (naming the wildcard, not binding to it)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def default_public_url_to(host: str, port: int) -> None:
    """Without PHAROS_PUBLIC_URL, public links follow where `pharos serve` listens.

    Set in the environment, which every server process builds its settings from.
    """
    os.environ.setdefault("PHAROS_PUBLIC_URL", listening_url(host, port))


def get_settings(request: Request) -> Settings:
    """The settings the running app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

"""Every table model and enum of Pharos."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """A random 12-character lowercase id, the shape Statuspage uses."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def new_ids(count: int) -> list[str]:
    """`count` ids shaped as new_id's, from one read of the system's randomness (thousands at
    once: the deliveries of a wide incident). Unbiased: bytes of 252 and over are dropped."""
    size = len(ID_ALPHABET)
    keep = 256 - 256 % size
    need = 12 * count
    chars: list[str] = []
    while len(chars) < need:
        chars.extend(
            ID_ALPHABET[b % size] for b in secrets.token_bytes(need - len(chars) + 16) if b < keep
        )
    text = "".join(chars[:need])
    return [text[i : i + 12] for i in range(0, need, 12)]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset itself)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Tables that never show on a public page: writing them does not bump the data version,
# so the render cache keeps its bytes (app.data_version).
PRIVATE_TABLE: dict[str, Any] = {"info": {"data_version": False}}


def _enum(enum: type[StrEnum]) -> sa.Enum:
    # Stored as VARCHAR, not a native enum type, so adding a value needs no type migration.
    return sa.Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class ComponentStatus(StrEnum):
    """A component's state, Statuspage's five values, best first."""

    operational = "operational"
    under_maintenance = "under_maintenance"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"


class IncidentStatus(StrEnum):
    """An incident's lifecycle state."""

    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem = "postmortem"
    # Scheduled maintenance (Statuspage keeps maintenances in the same object)
    scheduled = "scheduled"
    in_progress = "in_progress"
    verifying = "verifying"
    completed = "completed"


OPEN_STATUSES = (IncidentStatus.investigating, IncidentStatus.identified, IncidentStatus.monitoring)
CLOSED_STATUSES = (IncidentStatus.resolved, IncidentStatus.postmortem)
MAINTENANCE_OPEN_STATUSES = (
    IncidentStatus.scheduled,
    IncidentStatus.in_progress,
    IncidentStatus.verifying,
)


class Impact(StrEnum):
    """An incident's impact, least first."""

    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"
    maintenance = "maintenance"  # scheduled maintenance only


def _now() -> datetime:
    return datetime.now(UTC)


class Component(SQLModel, table=True):
    """A part of the service customers see; a group holds other components (two levels)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_type=sa.Text)
    status: ComponentStatus = Field(
        default=ComponentStatus.operational, sa_type=_enum(ComponentStatus)
    )
    position: int = Field(default=1)
    showcase: bool = Field(default=True)
    only_show_if_degraded: bool = Field(default=False)
    is_group: bool = Field(default=False)
    group_id: str | None = Field(
        default=None, foreign_key="component.id", index=True, ondelete="RESTRICT"
    )
    start_date: date | None = None
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


class ComponentStatusChange(SQLModel, table=True):
    """One row per status change of a component: the exact log uptime is computed from."""

    __tablename__ = "component_status_change"
    __table_args__ = (sa.Index("ix_status_change_component_time", "component_id", "effective_at"),)

    id: int | None = Field(default=None, primary_key=True)
    component_id: str = Field(foreign_key="component.id", ondelete="CASCADE", max_length=12)
    old_status: ComponentStatus = Field(sa_type=_enum(ComponentStatus))
    new_status: ComponentStatus = Field(sa_type=_enum(ComponentStatus))
    effective_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    incident_id: str | None = Field(
        default=None, foreign_key="incident.id", ondelete="SET NULL", max_length=12
    )


class ComponentDay(SQLModel, table=True):
    """Microseconds one component spent in each status on one day of the page's time zone.

    The uptime rollup: every closed interval of the status log is added here in the same
    transaction that logs the change closing it. The interval still open (the last change to
    now) is never stored. Whole microseconds, so the sums are exact.
    """

    __tablename__ = "component_day"

    component_id: str = Field(
        foreign_key="component.id", ondelete="CASCADE", primary_key=True, max_length=12
    )
    day: date = Field(primary_key=True)
    operational_us: int = Field(default=0, sa_type=sa.BigInteger)
    under_maintenance_us: int = Field(default=0, sa_type=sa.BigInteger)
    degraded_performance_us: int = Field(default=0, sa_type=sa.BigInteger)
    partial_outage_us: int = Field(default=0, sa_type=sa.BigInteger)
    major_outage_us: int = Field(default=0, sa_type=sa.BigInteger)


class Incident(SQLModel, table=True):
    """An unplanned event with a timeline of updates and, later, a postmortem."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    name: str = Field(max_length=255)
    status: IncidentStatus = Field(sa_type=_enum(IncidentStatus), index=True)
    impact: Impact = Field(default=Impact.none, sa_type=_enum(Impact))
    impact_override: Impact | None = Field(default=None, sa_type=_enum(Impact))
    backfilled: bool = Field(default=False)
    # Automation (probes) tells this incident's story until a person posts an update.
    automated: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Indexed: the page's last change (max updated_at) is read by every public answer, and
    # the uptime bars look for incidents open in their window (resolved_at).
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    monitoring_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    postmortem_body: str | None = Field(default=None, sa_type=sa.Text)
    postmortem_body_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    postmortem_published_body: str | None = Field(default=None, sa_type=sa.Text)
    postmortem_published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set for scheduled maintenance only (a maintenance is an incident with a schedule).
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    scheduled_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scheduled_remind_prior: int | None = None  # minutes
    scheduled_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scheduled_auto_in_progress: bool = False
    scheduled_auto_completed: bool = False
    auto_transition_to_maintenance_state: bool = False
    auto_transition_to_operational_state: bool = False
    # incidents as code: the slug of the incidents/<slug>.md file this incident is kept in
    source_slug: str | None = Field(default=None, max_length=200, unique=True)
    # Structured impact: "N of M chargers affected" (the fleet roll-up's, or typed by staff).
    chargers_affected: int | None = None
    chargers_total: int | None = None


class IncidentUpdate(SQLModel, table=True):
    """One entry of an incident's timeline."""

    __tablename__ = "incident_update"
    __table_args__ = (sa.Index("ix_incident_update_incident_display", "incident_id", "display_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    incident_id: str = Field(foreign_key="incident.id", ondelete="CASCADE", max_length=12)
    status: IncidentStatus = Field(sa_type=_enum(IncidentStatus))
    body: str = Field(sa_type=sa.Text)
    display_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    deliver_notifications: bool = Field(default=True)
    # The body in other languages, by language code ("de": "..."); readers of a language
    # see theirs where it exists and `body` (the page's default language) otherwise.
    translations: dict[str, str] | None = Field(default=None, sa_type=sa.JSON)


class AffectedComponent(SQLModel, table=True):
    """A component's status before and after one update; every update lists them all.

    No foreign key to component on purpose: history keeps the id and name of a component
    that was later deleted.
    """

    __tablename__ = "affected_component"

    id: int | None = Field(default=None, primary_key=True)
    incident_update_id: str = Field(
        foreign_key="incident_update.id", ondelete="CASCADE", index=True, max_length=12
    )
    component_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=520)
    old_status: ComponentStatus = Field(sa_type=_enum(ComponentStatus))
    new_status: ComponentStatus = Field(sa_type=_enum(ComponentStatus))
    # True when this update set the status itself (not a repeat of the status it found):
    # only these rows are the incident's claim on the component and count for its impact.
    set_here: bool = Field(default=False)


class ApiToken(SQLModel, table=True):
    """A staff API token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = PRIVATE_TABLE

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "write" may change things; "read" only reads (GET) the staff API.
    scope: str = Field(default="write", max_length=16, sa_column_kwargs={"server_default": "write"})


class AuditEvent(SQLModel, table=True):
    """Who changed what and when; written in the same transaction as the change."""

    __tablename__ = "audit_event"
    __table_args__ = PRIVATE_TABLE

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    ip: str | None = Field(default=None, max_length=64)  # where the request came from


class SubscriberStatus(StrEnum):
    """Whether a subscriber is sent to."""

    active = "active"
    pending = "pending"  # email: the confirmation link has not been followed yet
    quarantined = "quarantined"  # deliveries held after repeated failures; staff reactivate
    disabled = "disabled"  # the receiver said 410 Gone
    undeliverable = "undeliverable"  # email: the recipient's server refused it for good


class SubscriberChannel(StrEnum):
    """How a subscriber hears: a signed webhook, email, or a chat app's incoming webhook."""

    webhook = "webhook"
    email = "email"
    slack = "slack"
    teams = "teams"
    discord = "discord"
    google_chat = "google_chat"
    mattermost = "mattermost"


class DeliveryStatus(StrEnum):
    """Where one webhook delivery stands."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # every retry failed
    cancelled = "cancelled"  # the subscriber went away
    superseded = "superseded"  # folded into a later delivery about the same subject


class Subscriber(SQLModel, table=True):
    """A webhook endpoint, an email address or a chat webhook, optionally limited to some
    components (or following one incident)."""

    __table_args__ = PRIVATE_TABLE

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    channel: SubscriberChannel = Field(
        default=SubscriberChannel.webhook,
        sa_type=_enum(SubscriberChannel),
        sa_column_kwargs={"server_default": "webhook"},
    )
    # The target: an http(s) URL, or for email "mailto:<address>" (plus "?incident=<id>" when
    # following one incident), unique either way.
    url: str = Field(max_length=2048, unique=True)
    email: str | None = Field(default=None, max_length=320)
    # Kept in clear: the HMAC signature needs it. Shown to the subscriber once.
    secret: str = Field(max_length=64)
    component_ids: list[str] | None = Field(default=None, sa_type=sa.JSON)
    status: SubscriberStatus = Field(
        default=SubscriberStatus.active, sa_type=_enum(SubscriberStatus), index=True
    )
    unsubscribe_token: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    quarantined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=255)
    consecutive_failures: int = Field(default=0)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Following one incident only (email from the incident's page), until it is resolved.
    incident_id: str | None = Field(
        default=None, foreign_key="incident.id", ondelete="CASCADE", max_length=12
    )
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmation_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The page language a person subscribed from (en, nb, ...): their messages are in it.
    language: str | None = Field(default=None, max_length=8)


class AppSecret(SQLModel, table=True):
    """A key the installation made for itself (the subscriber link key when
    PHAROS_SECRET_KEY is not set)."""

    __tablename__ = "app_secret"
    __table_args__ = PRIVATE_TABLE

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=128)


class OutboxEvent(SQLModel, table=True):
    """Something subscribers hear about, written in the same transaction as the change."""

    __tablename__ = "outbox_event"
    __table_args__ = PRIVATE_TABLE

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    # What the event is about ("incident:<id>", "component:<id>"): a later event about the same
    # subject supersedes an earlier one still waiting for a retry.
    subject: str | None = Field(default=None, max_length=64)


class Delivery(SQLModel, table=True):
    """One event for one subscriber; its id is the webhook-id receivers deduplicate on."""

    __table_args__ = (
        sa.Index("ix_delivery_due", "status", "next_attempt_at", "event_id"),
        # A subscriber's queue, in event order: only its oldest pending delivery is sent.
        sa.Index("ix_delivery_queue", "subscriber_id", "status", "event_id"),
        PRIVATE_TABLE,
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    event_id: int = Field(foreign_key="outbox_event.id", ondelete="CASCADE", index=True)
    subscriber_id: str = Field(
        foreign_key="subscriber.id", ondelete="CASCADE", index=True, max_length=12
    )
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=_enum(DeliveryStatus))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)


class DeliveryAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery: the delivery log staff read."""

    __tablename__ = "delivery_attempt"
    __table_args__ = PRIVATE_TABLE

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="delivery.id", ondelete="CASCADE", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)


class DataVersion(SQLModel, table=True):
    """One row whose number grows with every committed change to public data.

    Every replica polls it to know when its rendered pages are out of date.
    """

    __tablename__ = "data_version"
    __table_args__ = PRIVATE_TABLE

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=1, sa_type=sa.BigInteger)
    # The version at which each topic of public data last changed (app.data_version.TOPICS):
    # an answer that shows none of a change's topics need not be rendered again.
    status_at: int = Field(default=1, sa_type=sa.BigInteger)
    incidents_at: int = Field(default=1, sa_type=sa.BigInteger)
    components_at: int = Field(default=1, sa_type=sa.BigInteger)
    other_at: int = Field(default=1, sa_type=sa.BigInteger)


# --- probes ---
# Operational tables: written every probe round and never shown on public pages.


class ProbeState(SQLModel, table=True):
    """Where one probe stands: its hysteresis counters and the incident it drives."""

    __tablename__ = "probe_state"
    __table_args__ = {"info": {"data_version": False}}

    name: str = Field(primary_key=True, max_length=64)
    component_id: str | None = Field(
        default=None, foreign_key="component.id", ondelete="SET NULL", max_length=12
    )
    backend_group: str = Field(max_length=128, index=True)
    # The status automation declared for the component (operational when no problem).
    active: ComponentStatus = Field(
        default=ComponentStatus.operational, sa_type=_enum(ComponentStatus)
    )
    failures: int = Field(default=0)
    successes: int = Field(default=0)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A different problem status being confirmed while one is active.
    pending: ComponentStatus | None = Field(default=None, sa_type=_enum(ComponentStatus))
    pending_count: int = Field(default=0)
    incident_id: str | None = Field(
        default=None, foreign_key="incident.id", ondelete="SET NULL", max_length=12
    )
    recovered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The maintenance under way that keeps a confirmed problem from being declared.
    silenced_by: str | None = Field(default=None, max_length=12)
    # The backend's TLS certificate as a wss:// probe last saw it.
    cert_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cert_subject: str | None = Field(default=None, max_length=255)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: ComponentStatus | None = Field(default=None, sa_type=_enum(ComponentStatus))
    last_latency_ms: float | None = None
    last_error_classes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # The probe's public_latency setting as of its last run: its timings are charted publicly.
    public_latency: bool = Field(default=False)


class ProbeResult(SQLModel, table=True):
    """One probe run with its evidence: latency charts and the reasons behind every action."""

    __tablename__ = "probe_result"
    __table_args__ = (
        sa.Index("ix_probe_result_probe_at", "probe", "at"),
        {"info": {"data_version": False}},
    )

    id: int | None = Field(default=None, primary_key=True)
    probe: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: ComponentStatus = Field(sa_type=_enum(ComponentStatus))
    latency_ms: float | None = None
    error_classes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class ProbeLatency(SQLModel, table=True):
    """A probe's timings in one 5-minute bucket, for the public latency charts: how many, their
    sum, least and most, and a log-scale histogram (bin -> count) the 95th percentile is read
    from. Buckets merge exactly into hours and days; kept as long as probe results."""

    __tablename__ = "probe_latency"
    __table_args__ = {"info": {"data_version": False}}

    probe: str = Field(primary_key=True, max_length=64)
    series: str = Field(primary_key=True, max_length=16)  # "response" or "lag"
    at: datetime = Field(primary_key=True, sa_type=UTCDateTime)  # the bucket's start
    count: int = Field(default=0)
    sum_ms: float = Field(default=0.0)
    min_ms: float = Field(default=0.0)
    max_ms: float = Field(default=0.0)
    bins: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)


class ProbeLease(SQLModel, table=True):
    """Which replica leads probing, until when; a leader that stops renewing loses it."""

    __tablename__ = "probe_lease"
    __table_args__ = {"info": {"data_version": False}}

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    acquired_at: datetime = Field(sa_type=UTCDateTime)


class ProbeDefinition(SQLModel, table=True):
    """A probe staff manage in the API or admin UI (the TOML file's probes are not stored)."""

    __tablename__ = "probe_definition"
    __table_args__ = {"info": {"data_version": False}}

    name: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    # The probe's table, in the probes file's shape (validated by app.probes.config).
    config: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    paused: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- admin UI: users, sessions, sign-in attempts, incident templates ---
# Private, operational tables: never shown on public pages, so they don't bump the data version.


class UserRole(StrEnum):
    """What a staff user may do: admins manage users and tokens, editors post, viewers read."""

    admin = "admin"
    editor = "editor"
    viewer = "viewer"


class User(SQLModel, table=True):
    """A staff member who signs in to the admin UI; only an argon2 hash of the password."""

    __table_args__ = {"info": {"data_version": False}}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    email: str = Field(max_length=320, unique=True)
    role: UserRole = Field(sa_type=_enum(UserRole))
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "staff_session"
    __table_args__ = {"info": {"data_version": False}}

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="user.id", ondelete="CASCADE", index=True, max_length=12)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ip: str | None = Field(default=None, max_length=64)
    # A form whose submission was refused (stale token, expired session), to show it again.
    draft: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class LoginAttempt(SQLModel, table=True):
    """One sign-in try, for rate limiting and lock-out per account and per address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_email_at", "email", "at"),
        sa.Index("ix_login_attempt_ip_at", "ip", "at"),
        {"info": {"data_version": False}},
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    email: str = Field(max_length=320)
    ip: str = Field(max_length=64)
    success: bool


class IncidentTemplate(SQLModel, table=True):
    """A saved incident (Statuspage's incident templates): title, message, status, components."""

    __tablename__ = "incident_template"
    __table_args__ = {"info": {"data_version": False}}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    name: str = Field(max_length=255, unique=True)
    title: str = Field(max_length=255)
    body: str = Field(sa_type=sa.Text)
    status: IncidentStatus = Field(sa_type=_enum(IncidentStatus))
    components: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class BrandSetting(SQLModel, table=True):
    """The page's brand as staff set it in the admin UI (one row, id 1). An empty field falls
    back to the PHAROS_BRAND_* configuration. Public: a change re-renders the cached pages."""

    __tablename__ = "brand_setting"

    id: int = Field(default=1, primary_key=True)
    title: str | None = Field(default=None, max_length=255)
    logo_url: str | None = Field(default=None, max_length=2000)
    logo_dark_url: str | None = Field(default=None, max_length=2000)
    favicon_url: str | None = Field(default=None, max_length=2000)
    accent: str | None = Field(default=None, max_length=7)
    footer_links: list[list[str]] = Field(default_factory=list, sa_type=sa.JSON)
    custom_css: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- imports from other services ---


class ImportKey(SQLModel, table=True):
    """An object brought in from another service (`pharos import`): its id there, its id here,
    and a digest of how it looked when last imported, so a re-run updates what changed, skips
    what did not, and never duplicates."""

    __tablename__ = "import_key"
    __table_args__ = PRIVATE_TABLE

    source: str = Field(primary_key=True, max_length=64)  # "statuspage:<page id>"
    kind: str = Field(primary_key=True, max_length=32)  # component, incident, template, ...
    external_id: str = Field(primary_key=True, max_length=64)
    pharos_id: str = Field(max_length=64, index=True)
    digest: str = Field(max_length=64)  # SHA-256 of the source object's canonical JSON
    imported_at: datetime = Field(sa_type=UTCDateTime)


# --- the charger fleet (OCPI): peers, locations, EVSEs and their status history ---


class FleetPeer(SQLModel, table=True):
    """An OCPI platform an `ocpi` probe reads: the credentials exchanged and the read cursor."""

    __tablename__ = "fleet_peer"
    __table_args__ = PRIVATE_TABLE

    name: str = Field(primary_key=True, max_length=64)  # the probe's name
    token_c: str | None = Field(default=None, max_length=255)  # we call them with it
    token_b_hash: str | None = Field(default=None, max_length=64, index=True)  # they call us
    country_code: str | None = Field(default=None, max_length=2)
    party_id: str | None = Field(default=None, max_length=3)
    endpoints: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    registered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    synced_to: datetime | None = Field(default=None, sa_type=UTCDateTime)  # next date_from
    full_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FleetLocation(SQLModel, table=True):
    """An OCPI Location, with the fields areas match on."""

    __tablename__ = "fleet_location"

    peer: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=36)
    country_code: str = Field(max_length=2)
    party_id: str = Field(max_length=3)
    name: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=45)
    country: str | None = Field(default=None, max_length=3)
    operator: str | None = Field(default=None, max_length=255)
    publish: bool = Field(default=True)
    last_updated: datetime = Field(sa_type=UTCDateTime)
    # OCPI Hours (twentyfourseven, regular_hours, exceptional openings/closings); None: unknown.
    opening_times: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class FleetEvse(SQLModel, table=True):
    """One EVSE (a charger, in customers' words) and its current OCPI status."""

    __tablename__ = "fleet_evse"
    __table_args__ = (
        sa.UniqueConstraint("peer", "location_id", "uid"),
        # The roll-up's grouped count, answered from the index alone.
        sa.Index("ix_fleet_evse_peer_location_status", "peer", "location_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    peer: str = Field(max_length=64)
    location_id: str = Field(max_length=36)
    uid: str = Field(max_length=36)
    evse_id: str | None = Field(default=None, max_length=48)
    status: str = Field(max_length=16)
    status_since: datetime = Field(sa_type=UTCDateTime)
    last_updated: datetime = Field(sa_type=UTCDateTime)
    max_power_kw: float | None = None
    # Connector id -> the fields its power follows (app.fleet.store.POWER_FIELDS).
    connectors: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class EvseStatusChange(SQLModel, table=True):
    """One row per status an EVSE entered: the history reliability is computed from."""

    __tablename__ = "evse_status_change"
    __table_args__ = (
        sa.Index("ix_evse_status_change_evse_at", "evse_id", "at"),
        {"info": {"data_version": False}},
    )

    id: int | None = Field(default=None, primary_key=True)
    evse_id: int = Field(foreign_key="fleet_evse.id", ondelete="CASCADE")
    status: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime)


class FleetArea(SQLModel, table=True):
    """A roll-up: which locations make up a component, and the thresholds (app.fleet.config)."""

    __tablename__ = "fleet_area"

    name: str = Field(primary_key=True, max_length=48)
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    source: str = Field(default="staff", max_length=16)  # "file" or "staff"
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReliabilityExclusion(SQLModel, table=True):
    """Time the operator takes out of the reliability measurement, with its reason: a whole
    peer's network, one location, or one EVSE, from `starts_at` to `ends_at`."""

    __tablename__ = "reliability_exclusion"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=12)
    peer: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=36)
    evse_uid: str | None = Field(default=None, max_length=36)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RateHit(SQLModel, table=True):
    """One accepted attempt against a rate limit (public subscriptions), shared by every
    replica through the database. The key is a SHA-256 of what is limited (a client address, a
    target), so no address is kept in plain text; rows older than the window are deleted."""

    __tablename__ = "rate_hit"
    __table_args__ = (
        sa.Index("ix_rate_hit_kind_key_at", "kind", "key", "at"),
        sa.Index("ix_rate_hit_at", "at"),
        {"info": {"data_version": False}},
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)

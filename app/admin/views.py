"""View models of the admin pages: finished data, so templates never query."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from markupsafe import Markup
from sqlmodel import Session

from app import labels, timefmt
from app.components import present as component_present
from app.components import service as components
from app.config import Settings
from app.errors import InvalidInput
from app.incidents import read as incidents
from app.incidents import templates as incident_templates
from app.incidents.present import page_path
from app.models import (
    OPEN_STATUSES,
    Component,
    ComponentStatus,
    Incident,
    ProbeState,
    SubscriberStatus,
)
from app.probes import definitions as probe_definitions
from app.probes import service as probes
from app.publishing.markdown import render_markdown
from app.subscribers import service as subscribers

CERT_WARN_DAYS = probes.CERT_WARN_DAYS
COMPONENT_CHOICES = [(s.value, labels.component_status(s)) for s in ComponentStatus]
INCIDENT_CHOICES = [
    (s, labels.incident_status(s))
    for s in ("investigating", "identified", "monitoring", "resolved")
]


class IncidentStatusLabel:
    """For rows with an incident's (or maintenance's) status: its label follows it."""

    status: str

    @property
    def status_label(self) -> str:
        """The status as people read it, e.g. "Monitoring"."""
        return labels.incident_status(self.status)


@dataclass(frozen=True)
class ComponentRow:
    """A component (or group) in admin lists and status pickers."""

    id: str
    name: str
    status: str
    is_group: bool
    group_name: str | None
    position: int
    description: str | None

    @property
    def status_label(self) -> str:
        """The status as people read it."""
        return labels.component_status(self.status)


@dataclass(frozen=True)
class UpdateRow(IncidentStatusLabel):
    """One timeline entry as staff see it: raw Markdown too, for editing."""

    id: str
    status: str
    body: str
    body_html: Markup
    posted: str
    changes: list[str]
    notified: bool


@dataclass(frozen=True)
class IncidentRow(IncidentStatusLabel):
    """An incident in lists and on its staff page."""

    id: str
    name: str
    status: str
    impact: str
    started: str
    public_url: str
    is_open: bool
    updates: list[UpdateRow] = field(default_factory=list)
    postmortem_draft: str | None = None
    postmortem_published: bool = False
    postmortem_saved: str | None = None
    affected_ids: list[str] = field(default_factory=list)

    def may_delete(self, update: UpdateRow) -> bool:
        """Whether the update can be deleted: not the only one, and not the one that gave the
        incident its current status (the service refuses those)."""
        left = [u for u in self.updates if u.id != update.id]
        if not left:
            return False
        current = self.status if self.is_open else "resolved"
        return left[0].status == current  # updates are newest first


@dataclass(frozen=True)
class DeliveryHealth:
    """Subscriber delivery health for the dashboard."""

    active: int
    quarantined: int
    disabled: int
    pending: int
    oldest_pending: str
    failed_last_day: int


@dataclass(frozen=True)
class IncidentLink(IncidentStatusLabel):
    """The incident something points at: enough for a link and a badge."""

    id: str
    name: str
    status: str


@dataclass(frozen=True)
class ProbeRow:
    """A probe on the dashboard: where it stands and what automation did about it."""

    name: str
    component: str | None
    state: str  # healthy, failing or not_run
    status: str | None  # the ComponentStatus value it declared (None before any run)
    state_label: str
    state_note: str
    failures: int
    successes: int
    last_run: str
    latency: str
    error_classes: list[str]
    incident: IncidentLink | None
    source: str = "file"  # file, managed or area
    paused: bool = False
    shadowed: bool = False
    kind: str = ""
    cert_expires: str = ""
    cert_days_left: int | None = None

    @property
    def cert_warning(self) -> bool:
        """The backend's certificate expires within CERT_WARN_DAYS (or has expired)."""
        return self.cert_days_left is not None and self.cert_days_left < CERT_WARN_DAYS


def component_rows(session: Session) -> list[ComponentRow]:
    """Every component, each group followed by its members, with the group's derived status."""
    found = components.list_components(session)
    groups = {c.id: c for c in found if c.is_group}
    members: dict[str | None, list[Component]] = {}
    for c in found:
        members.setdefault(c.group_id, []).append(c)
    rows: list[ComponentRow] = []

    def row(c: Component, status: ComponentStatus) -> ComponentRow:
        group = groups.get(c.group_id) if c.group_id else None
        return ComponentRow(
            id=c.id,
            name=c.name,
            status=status.value,
            is_group=c.is_group,
            group_name=group.name if group else None,
            position=c.position,
            description=c.description,
        )

    for c in members.get(None, []):
        kids = members.get(c.id, []) if c.is_group else []
        status = component_present.worst(k.status for k in kids) if c.is_group else c.status
        rows.append(row(c, status))
        rows.extend(row(k, k.status) for k in kids)
    return rows


def incident_pickers(session: Session) -> dict[str, Any]:
    """What incident forms pick from: the components, their statuses and the incident statuses."""
    return {
        "components": component_rows(session),
        "incident_choices": INCIDENT_CHOICES,
        "component_choices": COMPONENT_CHOICES,
    }


def template_pickers(session: Session) -> dict[str, Any]:
    """What incident forms that may start from a saved template pick from."""
    return {"templates": incident_templates.list_templates(session), **incident_pickers(session)}


def _change_text(name: str, old: ComponentStatus, new: ComponentStatus) -> str:
    if old == new:
        return f"{name}: {labels.component_status(new)}"
    return f"{name}: {labels.component_status(old)} → {labels.component_status(new)}"


def incident_rows(session: Session, found: list[Incident], tz: tzinfo) -> list[IncidentRow]:
    """Incidents with their timelines (newest first), for lists and the staff page."""
    rows = []
    for detail in incidents.load_details(session, found):
        i = detail.incident
        updates = [
            UpdateRow(
                id=u.id,
                status=u.status.value,
                body=u.body,
                body_html=render_markdown(u.body, heading_offset=3),
                posted=timefmt.posted(u.display_at, tz),
                changes=[
                    _change_text(a.name, a.old_status, a.new_status)
                    for a in detail.affected.get(u.id, [])
                    if a.set_here
                ],
                notified=u.deliver_notifications,
            )
            for u in detail.updates
        ]
        affected = {a.component_id for rows_ in detail.affected.values() for a in rows_}
        rows.append(
            IncidentRow(
                id=i.id,
                name=i.name,
                status=i.status.value,
                impact=i.impact.value,
                started=timefmt.posted(i.started_at, tz),
                public_url=page_path(i),
                is_open=i.status in OPEN_STATUSES,
                updates=updates,
                postmortem_draft=i.postmortem_body,
                postmortem_published=i.postmortem_published_at is not None,
                postmortem_saved=timefmt.posted(i.postmortem_body_updated_at, tz)
                if i.postmortem_body_updated_at
                else None,
                affected_ids=sorted(affected),
            )
        )
    return rows


def incident_page(session: Session, settings: Settings, incident_id: str) -> IncidentRow:
    """One incident with its whole timeline."""
    (row,) = incident_rows(session, [incidents.get_incident(session, incident_id)], settings.tz)
    return row


def delivery_health(session: Session, *, now: datetime) -> DeliveryHealth:
    """Subscribers by state, the pending backlog and recent give-ups."""
    health = subscribers.delivery_health(session, now=now)
    minutes = int(health.oldest_pending_seconds // 60)
    return DeliveryHealth(
        active=health.by_status.get(SubscriberStatus.active, 0),
        quarantined=health.by_status.get(SubscriberStatus.quarantined, 0),
        disabled=health.by_status.get(SubscriberStatus.disabled, 0),
        pending=health.pending,
        oldest_pending=f"{minutes} min" if health.pending else "none",
        failed_last_day=health.failed_last_day,
    )


def open_incidents(session: Session, tz: tzinfo) -> list[IncidentRow]:
    """Unresolved incidents, newest first."""
    return incident_rows(session, incidents.list_incidents(session, statuses=[*OPEN_STATUSES]), tz)


def _latency(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _probe_state(s: ProbeState, tz: tzinfo) -> tuple[str, str, str]:
    """The state, its label and a note: the declared status and how sure automation is."""
    if s.active != ComponentStatus.operational:
        label = f"Failing: {labels.component_status(s.active)}"
        if s.pending is not None:
            runs = f"{s.pending_count} run{'' if s.pending_count == 1 else 's'}"
            note = f"{labels.component_status(s.pending)} for {runs}, not confirmed yet"
        elif s.successes:
            note = "Recovering"
        else:
            note = f"Since {when(s.failing_since, tz)}" if s.failing_since else ""
        return "failing", label, note
    if s.last_run_at is None:
        return "not_run", "Not run yet", ""
    if s.failures:
        failed = f"Last run{'s' if s.failures > 1 else ''} failed"
        if s.last_status is not None:
            failed += f" ({labels.component_status(s.last_status)})"
        return "healthy", "Healthy", f"{failed}, not confirmed yet"
    return "healthy", "Healthy", ""


def probe_rows(
    session: Session, tz: tzinfo, *, settings: Settings | None = None, now: datetime | None = None
) -> list[ProbeRow]:
    """Every probe's state, by name, with its component and the incident it drives (and,
    given the settings, where each is defined and whether it is paused)."""
    rows = []
    about = probe_definitions.describe(session, settings) if settings is not None else {}
    managed_only = [n for n, a in about.items() if a[0] == "managed"]
    now = now or datetime.now(UTC)
    states = probes.states_with_links(session)
    known = {s.name for s, _, _ in states}
    for s, component, incident in states:
        state, label, note = _probe_state(s, tz)
        source, paused, shadowed, table = about.get(
            s.name, ("area" if s.name.startswith("area:") else "file", False, False, None)
        )
        if paused:
            state, label = "paused", "Paused"
        days_left = None
        if s.cert_expires_at is not None:
            days_left = (s.cert_expires_at - now).days
        rows.append(
            ProbeRow(
                name=s.name,
                component=component.name if component else None,
                state=state,
                status=None if state == "not_run" else s.active.value,
                state_label=label,
                state_note=note,
                failures=s.failures,
                successes=s.successes,
                last_run=when(s.last_run_at, tz),
                latency=_latency(s.last_latency_ms),
                error_classes=list(s.last_error_classes),
                incident=IncidentLink(
                    id=incident.id,
                    name=incident.name,
                    status=incident.status.value,
                )
                if incident
                else None,
                source=source,
                paused=paused,
                shadowed=shadowed,
                kind=str((table or {}).get("kind", "")),
                cert_expires=when(s.cert_expires_at, tz),
                cert_days_left=days_left,
            )
        )
    for name in managed_only:  # created, not run yet, no state row (deleted state)
        if name not in known:
            _, paused, _, table = about[name]
            rows.append(
                ProbeRow(
                    name=name,
                    component=str((table or {}).get("component", "")) or None,
                    state="paused" if paused else "not_run",
                    status=None,
                    state_label="Paused" if paused else "Not run yet",
                    state_note="",
                    failures=0,
                    successes=0,
                    last_run="",
                    latency="",
                    error_classes=[],
                    incident=None,
                    source="managed",
                    paused=paused,
                    kind=str((table or {}).get("kind", "")),
                )
            )
    return sorted(rows, key=lambda r: r.name)


@dataclass(frozen=True)
class ResultRow:
    """One run of a probe with its steps, newest first."""

    at: str
    status: str
    status_label: str
    latency: str
    manual: bool
    confirmation: bool
    silenced: bool
    checks: list[dict[str, Any]]


def probe_results(session: Session, name: str, tz: tzinfo, limit: int = 10) -> list[ResultRow]:
    """A probe's latest runs with each step's finding."""
    rows = []
    for r in probes.recent_results(session, name, limit=limit):
        evidence = r.evidence or {}
        checks = [
            {**c, "latency": _latency(c.get("latency_ms"))} for c in evidence.get("checks", [])
        ]
        rows.append(
            ResultRow(
                at=when(r.at, tz),
                status=r.status.value,
                status_label=labels.component_status(r.status),
                latency=_latency(r.latency_ms),
                manual=bool(evidence.get("manual")),
                confirmation=bool(evidence.get("confirmation")),
                silenced=bool(evidence.get("silenced_by_maintenance")),
                checks=checks,
            )
        )
    return rows


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def toml_table(text: str, label: str = "More settings") -> dict[str, Any]:
    """The TOML a form's "more settings" box holds, as a table; InvalidInput if it isn't."""
    text = text.strip()
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{label}: not valid TOML: {exc}") from exc


def toml_text(table: dict[str, Any]) -> str:
    """A probe table as the probes file writes it: plain keys, [tables], [[arrays]]."""
    plain, tables, arrays = [], [], []
    for key, value in table.items():
        if isinstance(value, dict):
            body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
            tables.append(f"[{key}]\n{body}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in item.items())
                arrays.append(f"[[{key}]]\n{body}")
        else:
            plain.append(f"{key} = {_toml_value(value)}")
    return "\n".join(["\n".join(plain), *tables, *arrays]).strip()


def when(value: datetime | None, tz: tzinfo) -> str:
    """A time in the page's zone for admin tables ("" for none)."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else ""

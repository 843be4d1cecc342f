"""View models of incidents and maintenances as the public pages show them: finished data,
so templates never query (the front page: front_page.py; uptime: uptime_page.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from babel.lists import format_list
from markupsafe import Markup
from sqlmodel import Session

from app import data_version, i18n, labels, text, timefmt
from app.components import service as components
from app.config import Settings
from app.incidents import read as incidents
from app.incidents.present import chargers_impact, page_folder
from app.maintenance import service as maintenance
from app.models import Component, Incident, IncidentUpdate
from app.publishing.markdown import render_markdown
from app.web.per_version import PerVersion

HISTORY_MONTHS_PER_PAGE = 3


@dataclass(frozen=True)
class UpdateView:
    """One timeline entry."""

    status: str
    status_label: str
    body_html: Markup
    posted: str
    display_at: datetime


@dataclass(frozen=True)
class IncidentView:
    """An incident as lists and its own page show it."""

    id: str
    name: str
    status: str
    status_label: str
    impact: str
    updates: list[UpdateView]
    affected: str
    postmortem_html: Markup | None
    postmortem_posted: str | None
    started_at: datetime
    url: str
    window: str | None = None  # a maintenance's schedule, in the page's zone
    chargers: tuple[int, int] | None = None  # structured impact: (affected, total) chargers

    @property
    def is_maintenance(self) -> bool:
        """Scheduled maintenance rather than an incident."""
        return self.window is not None

    @property
    def is_over(self) -> bool:
        """Resolved, postmortem published, or maintenance completed."""
        return self.status in ("resolved", "postmortem", "completed")

    @property
    def latest(self) -> UpdateView | None:
        """The newest update."""
        return self.updates[0] if self.updates else None

    @property
    def last_activity(self) -> datetime:
        """When the newest update was shown as posted (the start if there is none)."""
        return self.updates[0].display_at if self.updates else self.started_at


def in_language(update: IncidentUpdate) -> str:
    """An update's body in the reader's language where staff wrote one, else the default."""
    return (update.translations or {}).get(i18n.current()) or update.body


def affected_sentence(names: list[tuple[str | None, str]]) -> str:
    """Statuspage's list style: "A and B", "Group (X, Y), A, and B"."""
    grouped: dict[str | None, list[str]] = {}
    order: list[str] = []
    names = [(None if g is None else text.isolate(g), text.isolate(n)) for g, n in names]
    for group, name in names:
        if group is None:
            order.append(name)
        else:
            if group not in grouped:
                order.append(f"\0{group}")
            grouped.setdefault(group, []).append(name)
    parts = [f"{p[1:]} ({', '.join(grouped[p[1:]])})" if p.startswith("\0") else p for p in order]
    return format_list(parts, locale=i18n.current()) if parts else ""


def incident_views(
    session: Session,
    found: list[Incident],
    *,
    tz: tzinfo,
    groups: dict[str, Component],
    kept: PerVersion | None = None,
) -> list[IncidentView]:
    """View models for incidents, loading their timelines in bulk.

    With `kept`, they are built once until an incident or a component (its name, its group)
    changes: a status change leaves them as they were.
    """
    if kept is None:
        return _incident_views(session, found, tz=tz, groups=groups)
    key = ("incident_views", tuple(i.id for i in found), str(tz), i18n.current())
    views = kept.get(
        session,
        key,
        lambda: _incident_views(session, found, tz=tz, groups=groups),
        topics=(data_version.INCIDENTS, data_version.COMPONENTS),
    )
    return list(views)


def _incident_views(
    session: Session, found: list[Incident], *, tz: tzinfo, groups: dict[str, Component]
) -> list[IncidentView]:
    views = []
    for detail in incidents.load_details(session, found):
        i = detail.incident
        latest_rows = detail.affected.get(detail.updates[0].id, []) if detail.updates else []
        by_id = {c.id: c for c in detail.components}
        names: list[tuple[str | None, str]] = []
        for row in latest_rows:
            current = by_id.get(row.component_id)
            group = groups.get(current.group_id) if current and current.group_id else None
            names.append((group.name if group else None, current.name if current else row.name))
        views.append(
            IncidentView(
                id=i.id,
                name=i.name,
                status=i.status.value,
                status_label=labels.incident_status(i.status),
                impact=i.impact.value,
                updates=[
                    UpdateView(
                        status=u.status.value,
                        status_label=labels.incident_status(u.status),
                        body_html=render_markdown(in_language(u), heading_offset=4),
                        posted=timefmt.posted(u.display_at, tz),
                        display_at=u.display_at,
                    )
                    for u in detail.updates
                ],
                affected=affected_sentence(names),
                postmortem_html=render_markdown(i.postmortem_published_body, heading_offset=2)
                if i.postmortem_published_body
                else None,
                postmortem_posted=timefmt.posted(i.postmortem_published_at, tz)
                if i.postmortem_published_at
                else None,
                started_at=i.started_at,
                url=page_folder(i),
                window=timefmt.window(i.scheduled_for, i.scheduled_until, tz)
                if i.scheduled_for and i.scheduled_until
                else None,
                chargers=(impact.affected, impact.total)
                if (impact := chargers_impact(i))
                else None,
            )
        )
    return views


def incident_page(
    session: Session, settings: Settings, incident_id: str, *, is_maintenance: bool = False
) -> IncidentView:
    """One incident's (or maintenance's) report."""
    incident = (
        maintenance.get_maintenance(session, incident_id)
        if is_maintenance
        else incidents.get_incident(session, incident_id)
    )
    groups = components.groups_by_id(session)
    (view,) = incident_views(session, [incident], tz=settings.tz, groups=groups)
    return view


def month_start(d: date, back: int) -> date:
    """The first day of the month `back` months before d's month."""
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)

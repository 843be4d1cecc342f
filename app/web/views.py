"""View models for the public pages: finished data, so templates never query."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from markupsafe import Markup
from sqlmodel import Session

from app import labels, timefmt
from app.components import present as component_present
from app.components import service as components
from app.components.schemas import ComponentPublic
from app.config import Settings
from app.errors import NotFound
from app.incidents import read as incidents
from app.incidents.present import page_folder
from app.maintenance import service as maintenance
from app.models import OPEN_STATUSES, Component, ComponentStatus, Incident
from app.page import PageInfo, page_info
from app.publishing.markdown import render_markdown
from app.uptime import service as uptime
from app.web import uptime_view

PAST_DAYS = 14
HISTORY_MONTHS_PER_PAGE = 3
UPTIME_MONTHS = 3
# Above this many showcased components the front page draws one row of bars per group
# (its components added up) and folds the groups; the uptime page has them all.
FRONT_PAGE_BARS = 50
UPTIME_COMPONENTS_PER_PAGE = 25


@dataclass(frozen=True)
class ComponentView:
    """A component row; a group carries its children."""

    id: str
    name: str
    description: str | None
    status: str
    status_label: str
    is_group: bool = False
    children: list[ComponentView] = field(default_factory=list)
    uptime: uptime_view.UptimeBars | None = None


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

    @property
    def is_maintenance(self) -> bool:
        """Scheduled maintenance rather than an incident."""
        return self.window is not None

    @property
    def kind_label(self) -> str:
        """How reports of this kind are titled."""
        return "Scheduled Maintenance" if self.is_maintenance else "Incident"

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


@dataclass(frozen=True)
class DayView:
    """One day of the past-incidents list."""

    heading: str
    iso: str
    incidents: list[IncidentView]


@dataclass(frozen=True)
class IndexPage:
    """The front page."""

    page: PageInfo
    indicator: str
    description: str
    components: list[ComponentView]
    active: list[IncidentView]
    days: list[DayView]
    maintenance_active: list[IncidentView]
    maintenance_upcoming: list[IncidentView]

    @property
    def has_uptime(self) -> bool:
        """Whether any shown component has uptime bars."""
        return any(c.uptime for top in self.components for c in [top, *top.children])

    @property
    def bars_per_group(self) -> bool:
        """Whether groups carry the bars (a large page) instead of their components."""
        return any(c.is_group and c.uptime for c in self.components)


@dataclass(frozen=True)
class UptimePage:
    """Monthly uptime calendars of every showcased component."""

    page: PageInfo
    range: str
    weekdays: list[str]
    note: str
    components: list[uptime_view.ComponentCalendar]
    number: int = 1
    newer: int | None = None
    older: int | None = None

    @property
    def newer_path(self) -> str:
        """The previous page of components."""
        return uptime_path(self.newer or 1)

    @property
    def older_path(self) -> str:
        """The next page of components."""
        return uptime_path(self.older or self.number)


def uptime_path(number: int) -> str:
    """The path of page `number` of /uptime (1 is the first)."""
    return f"/uptime/{number}/" if number > 1 else "/uptime/"


def affected_sentence(names: list[tuple[str | None, str]]) -> str:
    """Statuspage's list style: "A and B", "Group (X, Y), A, and B"."""
    grouped: dict[str | None, list[str]] = {}
    order: list[str] = []
    for group, name in names:
        if group is None:
            order.append(name)
        else:
            if group not in grouped:
                order.append(f"\0{group}")
            grouped.setdefault(group, []).append(name)
    parts = [f"{p[1:]} ({', '.join(grouped[p[1:]])})" if p.startswith("\0") else p for p in order]
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def _component_views(
    presented: list[ComponentPublic], uptime_bars: dict[str, uptime_view.UptimeBars]
) -> list[ComponentView]:
    children: dict[str, list[ComponentView]] = {}
    top: list[tuple[str, ComponentView]] = []
    for c in presented:
        if c.only_show_if_degraded and c.status == ComponentStatus.operational:
            continue
        view = ComponentView(
            id=c.id,
            name=c.name,
            description=c.description,
            status=c.status.value,
            status_label=labels.component_status(c.status),
            is_group=c.group,
            children=[],
            uptime=uptime_bars.get(c.id),
        )
        if c.group_id:
            children.setdefault(c.group_id, []).append(view)
        else:
            top.append((c.id, view))
    out = []
    for cid, view in top:
        view.children.extend(children.get(cid, []))
        if view.is_group and not view.children:
            continue  # an empty group, or one whose components are all hidden
        out.append(view)
    return out


def incident_views(
    session: Session, found: list[Incident], *, tz: tzinfo, groups: dict[str, Component]
) -> list[IncidentView]:
    """View models for incidents, loading their timelines in bulk."""
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
                        body_html=render_markdown(u.body, heading_offset=4),
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
            )
        )
    return views


def index_page(session: Session, settings: Settings, now: datetime) -> IndexPage:
    """Banner, components with their uptime bars, active incidents and the last 14 days."""
    tz = settings.tz
    everything = components.list_components(session)
    presented = component_present.present_components(everything, page_id="")
    groups = {c.id: c for c in everything if c.is_group}
    active = incidents.list_incidents(session, statuses=list(OPEN_STATUSES), limit=100)
    leaves = [c.status for c in everything if not c.is_group]
    indicator, description = component_present.page_status(leaves, (i.impact.value for i in active))
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=PAST_DAYS - 1)
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    recent = incidents.recent_or_open(session, since=window_start)
    recent_views = incident_views(session, recent, tz=tz, groups=groups)
    by_day: dict[date, list[IncidentView]] = {}
    for view in recent_views:
        # An incident that began before the window shows on the day of its latest update.
        when = view.started_at if view.started_at >= window_start else view.last_activity
        by_day.setdefault(when.astimezone(tz).date(), []).append(view)
    days = [
        DayView(heading=timefmt.day_heading(d), iso=d.isoformat(), incidents=by_day.get(d, []))
        for d in (today - timedelta(days=n) for n in range(PAST_DAYS))
    ]
    return IndexPage(
        page=page_info(settings),
        indicator=indicator,
        description=description,
        components=_component_views(
            presented, _uptime_bars(session, settings, _showcased(everything, presented), now)
        ),
        active=incident_views(session, active, tz=tz, groups=groups),
        days=days,
        maintenance_active=incident_views(
            session,
            maintenance.list_maintenances(session, statuses=maintenance.ACTIVE),
            tz=tz,
            groups=groups,
        ),
        maintenance_upcoming=incident_views(
            session,
            maintenance.list_maintenances(session, statuses=maintenance.UPCOMING),
            tz=tz,
            groups=groups,
        ),
    )


def _showcased(
    everything: list[Component], presented: list[ComponentPublic] | None = None
) -> list[Component]:
    """Components with uptime bars, in page order (each group's components after it)."""
    by_id = {c.id: c for c in everything}
    if presented is None:
        presented = component_present.present_components(everything, page_id="")
    return [by_id[c.id] for c in presented if c.showcase and not c.group]


def _uptime_bars(
    session: Session, settings: Settings, shown: list[Component], now: datetime
) -> dict[str, uptime_view.UptimeBars]:
    """90 daily bars per showcased component, from one query of rollups for all of them.

    On a page with more than FRONT_PAGE_BARS showcased components, each group gets one row of
    bars for its components together instead, so the page stays small and quick to render.
    """
    tz = settings.tz
    first, last = uptime.last_days(now, tz)
    if len(shown) <= FRONT_PAGE_BARS:
        history = uptime.load_history(
            session, shown, first_day=first, last_day=last, now=now, tz=tz
        )
        figures, found = history.figures, history.incidents
    else:
        rows: dict[str, list[Component]] = {}
        for c in shown:
            rows.setdefault(c.group_id or c.id, []).append(c)
        figures = uptime.summed_figures(
            session, rows, first_day=first, last_day=last, now=now, tz=tz
        )
        by_component = uptime.incidents_by_day(
            session, [c.id for c in shown], first_day=first, last_day=last, now=now, tz=tz
        )
        row_of = {c.id: row for row, members in rows.items() for c in members}
        merged: dict[tuple[str, date], dict[str, uptime.IncidentRef]] = {}
        for (component_id, day), refs in by_component.items():
            into = merged.setdefault((row_of[component_id], day), {})
            into.update((ref.id, ref) for ref in refs)
        found = {key: list(refs.values()) for key, refs in merged.items()}
    weights = uptime.weights_of(settings)
    href = uptime_view.history_links(last, HISTORY_MONTHS_PER_PAGE)
    return {
        cid: uptime_view.uptime_bars(cid, days, found, weights=weights, history_href=href)
        for cid, days in figures.items()
    }


def uptime_page(session: Session, settings: Settings, now: datetime, number: int = 1) -> UptimePage:
    """The last three months of showcased components, a calendar per month, 25 a page."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    months = [month_start(today, back) for back in reversed(range(UPTIME_MONTHS))]
    everything = components.list_components(session)
    groups = {c.id: c for c in everything if c.is_group}
    showcased = _showcased(everything)
    pages = max(1, -(-len(showcased) // UPTIME_COMPONENTS_PER_PAGE))
    if number > pages:
        raise NotFound(f"the uptime pages end at page {pages}")
    shown = showcased[(number - 1) * UPTIME_COMPONENTS_PER_PAGE :][:UPTIME_COMPONENTS_PER_PAGE]
    history = uptime.load_history(
        session, shown, first_day=months[0], last_day=today, now=now, tz=tz
    )
    weights = uptime.weights_of(settings)
    href = uptime_view.history_links(today, HISTORY_MONTHS_PER_PAGE)
    calendars = [
        uptime_view.component_calendar(
            c.id,
            components.display_name(c, groups),
            history.figures[c.id],
            history.incidents,
            months=months,
            weights=weights,
            history_href=href,
        )
        for c in shown
    ]
    return UptimePage(
        page=page_info(settings),
        range=f"{timefmt.day_heading(months[0])} \N{EN DASH} {timefmt.day_heading(today)}",
        weekdays=list(calendar.day_abbr),
        note=uptime_view.weights_note(weights),
        components=calendars,
        number=number,
        newer=number - 1 if number > 1 else None,
        older=number + 1 if number < pages else None,
    )


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

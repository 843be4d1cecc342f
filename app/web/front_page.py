"""The front page: banner, components with their 90-day bars, incidents and maintenance."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup
from sqlmodel import Session

from app import data_version, i18n, labels, timefmt
from app.brand import current
from app.components import present as component_present
from app.config import Settings
from app.fleet.rollup import AreaCount, component_counts
from app.incidents import read as incidents
from app.maintenance import service as maintenance
from app.models import OPEN_STATUSES, Component, ComponentStatus
from app.page import PageInfo, page_info
from app.uptime import service as uptime
from app.web import uptime_page, uptime_view
from app.web.per_version import PerVersion, page_components
from app.web.views import HISTORY_MONTHS_PER_PAGE, IncidentView, incident_views

PAST_DAYS = 14
# Above this many showcased components the front page draws one row of bars per group
# (its components added up) and folds the groups; the uptime page has them all.
FRONT_PAGE_BARS = 50


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
    chargers: tuple[int, int] | None = None  # (working, in service) for a fleet area


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


ROWS_KEPT = 8192
_rows: OrderedDict[tuple[object, ...], Markup] = OrderedDict()
_rows_lock = threading.Lock()


def kept_row(macro: Callable[[ComponentView], Markup], c: ComponentView) -> Markup:
    """A component's row (the template's `component_row` macro), kept per distinct content.

    A large page has hundreds of rows that a status change leaves as they were; drawing each
    through the macro was most of its re-render. A row with bars is drawn anew (its bars are
    kept, see uptime_view.uptime_bars): the page has few of those.
    """
    if c.uptime is not None or c.children:
        return macro(c)
    key = (i18n.current(), c.id, c.name, c.description, c.status, c.status_label, c.chargers)
    with _rows_lock:
        row = _rows.get(key)
        if row is not None:
            _rows.move_to_end(key)
            return row
    row = macro(c)
    with _rows_lock:
        _rows[key] = row
        if len(_rows) > ROWS_KEPT:
            _rows.popitem(last=False)
    return row


def _component_views(
    presented: list[tuple[Component, ComponentStatus]],
    uptime_bars: dict[str, uptime_view.UptimeBars],
    chargers: dict[str, AreaCount] | None = None,
) -> list[ComponentView]:
    children: dict[str, list[ComponentView]] = {}
    top: list[tuple[str, ComponentView]] = []
    for c, status in presented:
        if c.only_show_if_degraded and status == ComponentStatus.operational:
            continue
        view = ComponentView(
            id=c.id,
            name=c.name,
            description=c.description,
            status=status.value,
            status_label=labels.component_status(status),
            is_group=c.is_group,
            children=[],
            uptime=uptime_bars.get(c.id),
            chargers=(n.total - n.failing, n.total) if (n := (chargers or {}).get(c.id)) else None,
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


def index_page(
    session: Session, settings: Settings, now: datetime, kept: PerVersion | None = None
) -> IndexPage:
    """Banner, components with their uptime bars, active incidents and the last 14 days.

    With `kept`, the parts a status change leaves as they were (the incidents' views, the
    incidents on each day of the bars) are built once until what they show changes.
    """
    tz = settings.tz
    everything = page_components(session, kept)
    presented = component_present.in_page_order(everything)
    groups = {c.id: c for c in everything if c.is_group}
    active = incidents.list_incidents(session, statuses=list(OPEN_STATUSES), limit=100)
    leaves = [c.status for c in everything if not c.is_group]
    indicator, description = component_present.page_status(leaves, (i.impact.value for i in active))
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=PAST_DAYS - 1)
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    recent = incidents.recent_or_open(session, since=window_start)
    recent_views = incident_views(session, recent, tz=tz, groups=groups, kept=kept)
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
        page=page_info(settings, current(session, settings)),
        indicator=indicator,
        description=labels.page_status(description),
        components=_component_views(
            presented,
            _uptime_bars(
                session, settings, uptime_page.showcased(everything, presented), now, kept
            ),
            component_counts(session),
        ),
        active=incident_views(session, active, tz=tz, groups=groups, kept=kept),
        days=days,
        maintenance_active=incident_views(
            session,
            maintenance.list_maintenances(session, statuses=maintenance.ACTIVE),
            tz=tz,
            groups=groups,
            kept=kept,
        ),
        maintenance_upcoming=incident_views(
            session,
            maintenance.list_maintenances(session, statuses=maintenance.UPCOMING),
            tz=tz,
            groups=groups,
            kept=kept,
        ),
    )


def _uptime_bars(
    session: Session,
    settings: Settings,
    shown: list[Component],
    now: datetime,
    kept: PerVersion | None = None,
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
        ids = [c.id for c in shown]

        def by_day() -> dict[tuple[str, date], list[uptime.IncidentRef]]:
            return uptime.incidents_by_day(
                session, ids, first_day=first, last_day=last, now=now, tz=tz
            )

        # The days an incident was open up to today: kept while the incidents and today are.
        by_component = (
            by_day()
            if kept is None
            else kept.get(
                session,
                ("incidents_by_day", tuple(ids), first, last, str(tz)),
                by_day,
                topics=(data_version.INCIDENTS,),
            )
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

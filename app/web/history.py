"""The /history pages: past incidents and maintenances by month, three months a page."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlmodel import Session

from app import timefmt
from app.brand import current
from app.components import service as components
from app.config import Settings
from app.errors import NotFound
from app.incidents import read as incidents
from app.page import PageInfo, page_info
from app.web import uptime_view
from app.web.views import (
    HISTORY_MONTHS_PER_PAGE,
    IncidentView,
    incident_views,
    month_start,
)

# A month lists its newest incidents up to this many, then links to the whole month.
MONTH_SHOWN = 25


@dataclass(frozen=True)
class MonthView:
    """One month of the history: its newest incidents and how many there were."""

    heading: str
    iso: str
    incidents: list[IncidentView]
    total: int
    # A run of months without incidents is shown once: this is the oldest month's heading.
    empty_since: str | None = None

    @property
    def more(self) -> int:
        """Incidents of the month not listed here."""
        return self.total - len(self.incidents)

    @property
    def path(self) -> str:
        """The page listing every incident of the month."""
        return f"/history/{self.iso}/"


@dataclass(frozen=True)
class HistoryPage:
    """Three months of past incidents, or one whole month."""

    page: PageInfo
    months: list[MonthView]
    number: int
    newer: int | None
    older: int | None
    whole_month: bool = False

    @property
    def newer_path(self) -> str:
        """The page before this one (newer incidents)."""
        return uptime_view.history_path(self.newer or 1)

    @property
    def back_path(self) -> str:
        """From a whole month, back to the history page holding it, at the month."""
        return f"{uptime_view.history_path(self.number)}#month-{self.months[0].iso}"

    @property
    def older_path(self) -> str:
        """The page after this one (older incidents)."""
        return uptime_view.history_path(self.older or self.number)


def _page_of(today: date, month: date) -> int:
    """The history page a month is on."""
    back = (today.year * 12 + today.month) - (month.year * 12 + month.month)
    return back // HISTORY_MONTHS_PER_PAGE + 1


def history_page(
    session: Session,
    settings: Settings,
    now: datetime,
    number: int,
    month: date | None = None,
) -> HistoryPage:
    """Page `number` (1 = the current quarter) of past incidents grouped by month, or every
    incident of one month when `month` is given."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    if month is not None:
        if month > today:
            raise NotFound("that month has not begun")
        number = _page_of(today, month)
        firsts = [month]
    else:
        newest = month_start(today, (number - 1) * HISTORY_MONTHS_PER_PAGE)
        firsts = [month_start(newest, n) for n in range(HISTORY_MONTHS_PER_PAGE)]
    months = incidents.by_month(
        session, firsts, tz=tz, limit=None if month is not None else MONTH_SHOWN
    )
    found = [i for listed, _ in months.values() for i in listed]
    totals = {first: total for first, (_, total) in months.items()}
    groups = components.groups_by_id(session)
    by_month: dict[date, list[IncidentView]] = {}
    for view in incident_views(session, found, tz=tz, groups=groups):
        local = view.started_at.astimezone(tz).date()
        by_month.setdefault(local.replace(day=1), []).append(view)
    month_views: list[MonthView] = []
    for m in firsts:
        shown = MonthView(
            heading=timefmt.month_heading(m),
            iso=m.isoformat()[:7],
            incidents=by_month.get(m, []),
            total=totals[m],
        )
        last = month_views[-1] if month_views else None
        if last is not None and not last.total and not shown.total:
            month_views[-1] = dataclasses.replace(last, empty_since=shown.heading)
        else:
            month_views.append(shown)
    return HistoryPage(
        page=page_info(settings, current(session, settings)),
        months=month_views,
        number=number,
        newer=_newer(session, today, firsts[0], tz) if number > 1 else None,
        older=_older(session, today, firsts[-1], tz),
        whole_month=month is not None,
    )


def _newer(session: Session, today: date, newest: date, tz: tzinfo) -> int:
    """The page of the next newer incident (pages with none are skipped), else page 1."""
    after = datetime.combine(month_start(newest, -1), datetime.min.time(), tzinfo=tz)
    found = incidents.earliest_start_from(session, after)
    if found is None:
        return 1
    return max(1, _page_of(today, found.astimezone(tz).date().replace(day=1)))


def _older(session: Session, today: date, oldest: date, tz: tzinfo) -> int | None:
    """The page of the next older incident (pages with none are skipped), if there is one."""
    before = datetime.combine(oldest, datetime.min.time(), tzinfo=tz)
    found = incidents.latest_start_before(session, before)
    if found is None:
        return None
    return _page_of(today, found.astimezone(tz).date().replace(day=1))

"""The /history pages: past incidents and maintenances by month, three months a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from app import timefmt
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
    month_views = [
        MonthView(
            heading=timefmt.month_heading(m),
            iso=m.isoformat()[:7],
            incidents=by_month.get(m, []),
            total=totals[m],
        )
        for m in firsts
    ]
    oldest = datetime.combine(firsts[-1], datetime.min.time(), tzinfo=tz)
    older_exists = incidents.any_started_before(session, oldest)
    return HistoryPage(
        page=page_info(settings),
        months=month_views,
        number=number,
        newer=number - 1 if number > 1 else None,
        older=number + 1 if older_exists else None,
        whole_month=month is not None,
    )

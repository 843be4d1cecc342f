"""The /history pages: past incidents and maintenances by month, three months a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.components import service as components
from app.config import Settings
from app.models import Incident
from app.uptime import present as uptime_present
from app.web import timefmt
from app.web.views import (
    HISTORY_MONTHS_PER_PAGE,
    DayView,
    IncidentView,
    PageInfo,
    incident_views,
    month_start,
    page_info,
)


@dataclass(frozen=True)
class HistoryPage:
    """Three months of past incidents."""

    page: PageInfo
    months: list[DayView]
    number: int
    newer: int | None
    older: int | None

    @property
    def newer_path(self) -> str:
        """The page before this one (newer incidents)."""
        return uptime_present.history_path(self.newer or 1)

    @property
    def older_path(self) -> str:
        """The page after this one (older incidents)."""
        return uptime_present.history_path(self.older or self.number)


def history_page(session: Session, settings: Settings, now: datetime, number: int) -> HistoryPage:
    """Page `number` (1 = the current quarter) of past incidents, grouped by month."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    newest = month_start(today, (number - 1) * HISTORY_MONTHS_PER_PAGE)
    oldest = month_start(today, number * HISTORY_MONTHS_PER_PAGE - 1)
    upper = datetime.combine(month_start(newest, -1), datetime.min.time(), tzinfo=tz)
    lower = datetime.combine(oldest, datetime.min.time(), tzinfo=tz)
    found = list(
        session.exec(
            select(Incident)
            .where(col(Incident.started_at) >= lower, col(Incident.started_at) < upper)
            .order_by(col(Incident.started_at).desc())
        )
    )
    groups = components.groups_by_id(session)
    by_month: dict[date, list[IncidentView]] = {}
    for view in incident_views(session, found, tz=tz, groups=groups):
        local = view.started_at.astimezone(tz).date()
        by_month.setdefault(local.replace(day=1), []).append(view)
    months = [
        DayView(
            heading=timefmt.month_heading(m), iso=m.isoformat()[:7], incidents=by_month.get(m, [])
        )
        for m in (month_start(newest, n) for n in range(HISTORY_MONTHS_PER_PAGE))
    ]
    older_exists = session.exec(
        select(Incident.id).where(col(Incident.started_at) < lower).limit(1)
    ).first()
    return HistoryPage(
        page=page_info(settings),
        months=months,
        number=number,
        newer=number - 1 if number > 1 else None,
        older=number + 1 if older_exists else None,
    )

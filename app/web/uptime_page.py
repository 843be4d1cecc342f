"""The /uptime/ pages: a month calendar per showcased component, 25 components a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app import i18n, timefmt
from app.brand import current
from app.components import present as component_present
from app.components import service as components
from app.config import Settings
from app.errors import NotFound
from app.models import Component, ComponentStatus
from app.page import PageInfo, page_info
from app.uptime import service as uptime
from app.web import uptime_view
from app.web.per_version import PerVersion, page_components
from app.web.views import HISTORY_MONTHS_PER_PAGE, month_start

UPTIME_MONTHS = 3
UPTIME_COMPONENTS_PER_PAGE = 25


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


def showcased(
    everything: list[Component],
    ordered: list[tuple[Component, ComponentStatus]] | None = None,
) -> list[Component]:
    """Components with uptime bars, in page order (each group's components after it)."""
    if ordered is None:
        ordered = component_present.in_page_order(everything)
    return [c for c, _status in ordered if c.showcase and not c.is_group]


def uptime_page(
    session: Session,
    settings: Settings,
    now: datetime,
    number: int = 1,
    kept: PerVersion | None = None,
) -> UptimePage:
    """The last three months of showcased components, a calendar per month, 25 a page."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    months = [month_start(today, back) for back in reversed(range(UPTIME_MONTHS))]
    everything = page_components(session, kept)
    groups = {c.id: c for c in everything if c.is_group}
    listed = showcased(everything)
    pages = max(1, -(-len(listed) // UPTIME_COMPONENTS_PER_PAGE))
    if number > pages:
        raise NotFound(f"the uptime pages end at page {pages}")
    shown = listed[(number - 1) * UPTIME_COMPONENTS_PER_PAGE :][:UPTIME_COMPONENTS_PER_PAGE]
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
        page=page_info(settings, current(session, settings)),
        range=f"{timefmt.day_heading(months[0])} \N{EN DASH} {timefmt.day_heading(today)}",
        weekdays=i18n.weekdays_short(),
        note=uptime_view.weights_note(weights),
        components=calendars,
        number=number,
        newer=number - 1 if number > 1 else None,
        older=number + 1 if number < pages else None,
    )

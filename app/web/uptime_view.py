"""Uptime figures as the public pages draw them: labelled days, 90-day bars, month calendars."""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from markupsafe import Markup, escape

from app import i18n, labels, text
from app.i18n import _, ngettext
from app.models import ComponentStatus
from app.timefmt import day_heading
from app.uptime.service import DayFigures, IncidentRef, Weights, period_percent
from app.web.links import relative

# What the label names, worst first; operational time is the rest of the day.
TROUBLE = (
    ComponentStatus.major_outage,
    ComponentStatus.partial_outage,
    ComponentStatus.degraded_performance,
    ComponentStatus.under_maintenance,
)
US_PER_MINUTE = 60_000_000
LABEL_INCIDENTS = 3  # a day's label names this many incidents, then says how many more
HistoryHref = Callable[[date], str]
Incidents = Mapping[tuple[str, date], Sequence[IncidentRef]]


@dataclass(frozen=True)
class DayCell:
    """One day of one component, ready to draw as a bar or a calendar cell."""

    iso: str
    number: int
    state: str  # CSS suffix: the day's worst status, "none" without data, "future"
    label: str  # date, minutes of trouble, incidents: the title and the accessible text
    href: str | None  # the day's incident, or where its several incidents are listed


SHORT_DAYS = 30  # what a phone shows (as Statuspage does): the last 30 days
# A bar's state as a one-letter class; an operational day is a bare <i> (most days are).
BAR_CLASS = {
    "operational": "",
    "none": "n",
    "under_maintenance": "u",
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "x",
}


@dataclass(frozen=True)
class UptimeBars:
    """A component's daily bars, oldest first, and its uptime over them (and over the last
    SHORT_DAYS of them, which is what a phone shows)."""

    days: list[DayCell]
    percent: str
    has_data: bool = True
    short_percent: str = ""
    short_has_data: bool = True
    # A component younger than the bars: the day its figure starts (its first day with data)
    since: str = ""
    short_since: str = ""

    @property
    def last_iso(self) -> str:
        """The newest day shown (the bars' position gives the others)."""
        return self.days[-1].iso if self.days else ""

    def items_html(self, page_path: str) -> Markup:
        """The bars, links relative to the page they are on (a large page has thousands:
        built here, not in a template macro)."""
        return bar_items(tuple(self.days), page_path)


@lru_cache(maxsize=4096)
def bar_items(days: tuple[DayCell, ...], page_path: str) -> Markup:
    """The bars in as few bytes as we can (20 components are 1,800 days).

    Quiet days in a row (no trouble, no incident) are one element as wide as they are many
    (class gN; the style sheet draws the gaps between them). A day with trouble or an incident
    carries its label as a tip shown on hover, keyboard focus or tap (CSS, no script): a link
    to its incident (or to the history where its several incidents are), else a focusable
    element. All days but the last SHORT_DAYS sit in a span a phone hides.

    Kept per distinct row of days: after a change, only the rows that changed are built again.
    """
    out: list[str] = []
    split = max(0, len(days) - SHORT_DAYS)
    run_state, run = "", 0

    def flush() -> None:
        nonlocal run
        if run:
            classes = [c for c in (BAR_CLASS[run_state], f"g{run}" if run > 1 else "") if c]
            if not classes:
                out.append("<i></i>")
            elif len(classes) == 1:
                out.append(f"<i class={classes[0]}></i>")
            else:
                out.append(f'<i class="{" ".join(classes)}"></i>')
            run = 0

    for index, d in enumerate(days):
        if index == split and split:
            flush()
            out.insert(0, "<span class=old>")
            out.append("</span>")
        quiet = not d.href and d.state in ("operational", "none")
        if quiet:
            if run and d.state != run_state:
                flush()
            run_state = d.state
            run += 1
            continue
        flush()
        css = BAR_CLASS.get(d.state, "")
        css = f" class={css}" if css else ""
        tip = f"<span class=tip>{escape(d.label)}</span>"
        if d.href:
            out.append(f'<a{css} href="{escape(relative(d.href, page_path))}">{tip}</a>')
        else:
            out.append(f"<b{css} tabindex=0>{tip}</b>")
    flush()
    return Markup("".join(out))  # noqa: S704  (every value above is escaped)


@dataclass(frozen=True)
class MonthCalendar:
    """One month of one component: weeks Monday first, None where the month has no day."""

    heading: str
    iso: str
    weeks: tuple[tuple[DayCell | None, ...], ...]
    percent: str

    def table_html(self, weekdays: Sequence[str], page_path: str) -> Markup:
        """The month as a table, links relative to the page it is on (built here, not in a
        template: a page of calendars has thousands of days)."""
        return calendar_table(self, tuple(weekdays), page_path)


@lru_cache(maxsize=4096)
def calendar_table(month: MonthCalendar, weekdays: tuple[str, ...], page_path: str) -> Markup:
    """A month's table: a cell per day, its label both tooltip and screen-reader text, a
    link to its incidents. Kept per distinct month: only months that changed are built again."""
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name in weekdays)
    rows = []
    for week in month.weeks:
        cells = []
        for d in week:
            if d is None:
                cells.append('<td class="cal-pad"></td>')
                continue
            label = escape(d.label)
            inner = f'<span class="visually-hidden">{label}</span>'
            if d.href:
                inner = f'<a href="{escape(relative(d.href, page_path))}">{inner}</a>'
            cells.append(
                f'<td class="cal-day day-{escape(d.state)}" title="{label}" '
                f'data-date="{escape(d.iso)}"><span class="cal-number" aria-hidden="true">'
                f"{d.number}</span>{inner}</td>"
            )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return Markup(  # noqa: S704  (every value is escaped)
        f'<table class="calendar" data-month="{escape(month.iso)}"><caption>'
        f'<span class="calendar-month">{escape(month.heading)}</span> '
        f'<span class="uptime-percent">{escape(month.percent)}</span></caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


@dataclass(frozen=True)
class ComponentCalendar:
    """One component's months of uptime."""

    id: str
    name: str
    percent: str
    months: list[MonthCalendar]
    has_data: bool = True
    since: str = ""  # a component younger than the calendars: the day its figure starts


def history_path(number: int) -> str:
    """The path of page `number` of /history (1 is the newest)."""
    return f"/history/{number}/" if number > 1 else "/history/"


def history_links(today: date, months_per_page: int) -> HistoryHref:
    """Where /history lists a day's incidents: the page holding its month, at the month."""

    def href(day: date) -> str:
        back = (today.year - day.year) * 12 + today.month - day.month
        number = back // months_per_page + 1
        return f"{history_path(number)}#month-{day:%Y-%m}"

    return href


def weights_note(weights: Weights) -> str:
    """How uptime is counted, in words."""

    def share(weight: float) -> str:
        if weight >= 1:
            return _("in full")
        if weight <= 0:
            return _("not at all")
        return _("at %(percent)s") % {"percent": i18n.percent(weight * 100, 0)}

    return _(
        "Uptime counts major outage as downtime %(major)s, partial outage %(partial)s and "
        "degraded performance %(degraded)s; time under maintenance is left out."
    ) % {
        "major": share(weights.major_outage),
        "partial": share(weights.partial_outage),
        "degraded": share(weights.degraded_performance),
    }


def format_percent(value: float | None) -> str:
    """Uptime rounded down to two decimals ("99.99%" is never a rounded-up 99.996%)."""
    if value is None:
        return _("No data")
    floored = math.floor(round(value, 6) * 100) / 100
    return i18n.percent(100, 0) if floored >= 100 else i18n.percent(floored, 2)


def duration(us: int) -> str:
    """Minutes, or hours and minutes; a few seconds still read as a minute."""
    minutes = max(1, round(us / US_PER_MINUTE))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": rest}
    if not rest:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}


def day_label(figures: DayFigures, incidents: Sequence[IncidentRef]) -> str:
    """E.g. "Sep 7, 2025: 1 h 5 min major outage, 30 min partial outage. Incident: X"."""
    heading = day_heading(figures.day)
    if not figures.has_data:
        return _("%(day)s: no data") % {"day": heading}
    trouble = [
        _("%(duration)s %(status)s")
        % {"duration": duration(figures.us[s]), "status": labels.component_status_phrase(s)}
        for s in TROUBLE
        if figures.us[s] > 0
    ]
    label = _("%(day)s: %(figures)s") % {
        "day": heading,
        "figures": ", ".join(trouble) if trouble else _("no downtime"),
    }
    if incidents:
        names = [text.isolate(i.name) for i in incidents[:LABEL_INCIDENTS]]
        if len(incidents) > LABEL_INCIDENTS:
            more = len(incidents) - LABEL_INCIDENTS
            names.append(ngettext("%(num)d more", "%(num)d more", more) % {"num": more})
        label += ngettext(". Incident: %(names)s", ". Incidents: %(names)s", len(incidents)) % {
            "names": "; ".join(names)
        }
    return label


def day_cell(
    figures: DayFigures, incidents: Sequence[IncidentRef], history_href: HistoryHref
) -> DayCell:
    """One day, labelled and linked to its incidents.

    Kept per distinct day (its figures, incidents, language): a re-render after a change
    labels only the days that changed, mostly today.
    """
    several = history_href(figures.day) if len(incidents) > 1 else None
    return _cell(
        figures.day,
        tuple(figures.us.items()),
        figures.has_data,
        tuple(incidents),
        several,
        i18n.current(),
    )


@lru_cache(maxsize=65_536)
def _cell(
    day: date,
    us: tuple[tuple[ComponentStatus, int], ...],
    has_data: bool,
    incidents: tuple[IncidentRef, ...],
    several: str | None,
    language: str,  # part of the key: the label is in it
) -> DayCell:
    figures = DayFigures(day=day, us=dict(us), has_data=has_data)
    worst = figures.worst if figures.has_data else None
    href = None
    if len(incidents) == 1:
        (only,) = incidents
        href = f"/{'maintenance' if only.maintenance else 'incidents'}/{only.id}/"
    elif incidents:
        href = several
    return DayCell(
        iso=figures.day.isoformat(),
        number=figures.day.day,
        state=worst.value if worst else "none",
        label=day_label(figures, incidents),
        href=href,
    )


def uptime_bars(
    component_id: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    weights: Weights,
    history_href: HistoryHref,
) -> UptimeBars:
    """One bar per day and the uptime over all of them."""
    percent = period_percent(days, weights)
    short = period_percent(days[-SHORT_DAYS:], weights)
    return UptimeBars(
        days=[bar_cell(d, incidents.get((component_id, d.day), ()), history_href) for d in days],
        percent=format_percent(percent),
        has_data=percent is not None,
        short_percent=format_percent(short),
        short_has_data=short is not None,
        since=covered_since(days),
        short_since=covered_since(days[-SHORT_DAYS:]),
    )


def covered_since(days: Sequence[DayFigures]) -> str:
    """The first day an uptime figure over `days` covers, when the component is younger than
    them (its days before are no data, as their bars are); "" when it covers them all."""
    if not days or days[0].has_data:
        return ""
    first = next((d.day for d in days if d.has_data), None)
    return i18n.day(first) if first else ""


def bar_cell(
    figures: DayFigures, incidents: Sequence[IncidentRef], history_href: HistoryHref
) -> DayCell:
    """A bar: as `day_cell`, but a quiet day (no trouble, no incident) gets no label, since
    its bar shows none (most days are quiet; their labels were most of a render). Kept per
    distinct day, as `day_cell` is."""
    several = history_href(figures.day) if len(incidents) > 1 else None
    return _bar(
        figures.day,
        tuple(figures.us.items()),
        figures.has_data,
        tuple(incidents),
        several,
        i18n.current(),
    )


@lru_cache(maxsize=65_536)
def _bar(
    day: date,
    us: tuple[tuple[ComponentStatus, int], ...],
    has_data: bool,
    incidents: tuple[IncidentRef, ...],
    several: str | None,
    language: str,
) -> DayCell:
    if incidents or (has_data and any(spent > 0 for s, spent in us if s in TROUBLE)):
        return _cell(day, us, has_data, incidents, several, language)
    worst = DayFigures(day=day, us=dict(us), has_data=has_data).worst if has_data else None
    return DayCell(
        iso=day.isoformat(),
        number=day.day,
        state=worst.value if worst else "none",
        label="",
        href=None,
    )


def month_calendars(
    component_id: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    months: Sequence[date],
    weights: Weights,
    history_href: HistoryHref,
) -> list[MonthCalendar]:
    """Calendars of the given months (their first days); days without figures are future."""
    by_day = {d.day: d for d in days}
    out = []
    for first in months:
        cells: list[DayCell | None] = [None] * first.weekday()
        in_month = []
        for number in range(1, calendar.monthrange(first.year, first.month)[1] + 1):
            day = first.replace(day=number)
            figures = by_day.get(day)
            if figures is None:
                label = _("%(day)s: not yet") % {"day": day_heading(day)}
                cells.append(DayCell(day.isoformat(), number, "future", label, None))
                continue
            in_month.append(figures)
            found = incidents.get((component_id, day), ())
            cells.append(day_cell(figures, found, history_href))
        cells.extend([None] * (-len(cells) % 7))
        out.append(
            MonthCalendar(
                heading=i18n.month(first),
                iso=f"{first:%Y-%m}",
                weeks=tuple(tuple(cells[i : i + 7]) for i in range(0, len(cells), 7)),
                percent=format_percent(period_percent(in_month, weights)),
            )
        )
    return out


def component_calendar(
    component_id: str,
    name: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    months: Sequence[date],
    weights: Weights,
    history_href: HistoryHref,
) -> ComponentCalendar:
    """A component's calendars and its uptime over all of their days."""
    percent = period_percent(days, weights)
    return ComponentCalendar(
        id=component_id,
        name=name,
        percent=format_percent(percent),
        has_data=percent is not None,
        since=covered_since(days),
        months=month_calendars(
            component_id,
            days,
            incidents,
            months=months,
            weights=weights,
            history_href=history_href,
        ),
    )

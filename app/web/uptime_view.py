"""Uptime figures as the public pages draw them: labelled days, 90-day bars, month calendars."""

from __future__ import annotations

import calendar
import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from markupsafe import Markup, escape

from app import i18n, labels, text
from app.i18n import _, ngettext
from app.models import ComponentStatus
from app.timefmt import day_heading
from app.uptime.service import DayFigures, IncidentRef, Weights, period_percent, uptime_percent
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

    days: tuple[DayCell, ...]
    percent: str
    has_data: bool = True
    short_percent: str = ""
    short_has_data: bool = True
    # A component younger than the bars: the day its figure starts (its first day with data)
    since: str = ""
    short_since: str = ""
    # The row's kept past days (see uptime_bars); None: draw all days here
    past: _PastRow | None = field(default=None, compare=False, repr=False)

    @property
    def last_iso(self) -> str:
        """The newest day shown (the bars' position gives the others)."""
        return self.days[-1].iso if self.days else ""

    def items_html(self, page_path: str) -> Markup:
        """The bars, links relative to the page they are on (a large page has thousands:
        built here, not in a template macro)."""
        if self.past is None or not self.days:
            return bar_items(self.days, page_path)
        bars = self.past.markup(page_path).copy()
        bars.add(self.days[-1])
        return bars.markup()


def bar_items(days: Sequence[DayCell], page_path: str) -> Markup:
    """The bars in as few bytes as we can (20 components are 1,800 days).

    Quiet days in a row (no trouble, no incident) are one element as wide as they are many
    (class gN; the style sheet draws the gaps between them). A day with trouble or an incident
    carries its label as a tip shown on hover, keyboard focus or tap (CSS, no script): a link
    to its incident (or to the history where its several incidents are), else a focusable
    element. All days but the last SHORT_DAYS sit in a span a phone hides.
    """
    bars = _BarMarkup(len(days), page_path)
    for d in days:
        bars.add(d)
    return bars.markup()


class _BarMarkup:
    """bar_items, resumable: a row's past days are drawn once and kept (see _PastRow); each
    render copies that and adds today, the one day whose figures move with the clock."""

    def __init__(self, total: int, page_path: str) -> None:
        self.out: list[str] = []
        self.split = max(0, total - SHORT_DAYS)
        self.page_path = page_path
        self.index = 0
        self.run_state = ""
        self.run = 0

    def copy(self) -> _BarMarkup:
        other = copy.copy(self)
        other.out = list(self.out)
        return other

    def _flush(self) -> None:
        if self.run:
            run = self.run
            classes = [c for c in (BAR_CLASS[self.run_state], f"g{run}" if run > 1 else "") if c]
            if not classes:
                self.out.append("<i></i>")
            elif len(classes) == 1:
                self.out.append(f"<i class={classes[0]}></i>")
            else:
                self.out.append(f'<i class="{" ".join(classes)}"></i>')
            self.run = 0

    def add(self, d: DayCell) -> None:
        if self.index == self.split and self.split:
            self._flush()
            self.out.insert(0, "<span class=old>")
            self.out.append("</span>")
        self.index += 1
        if not d.href and d.state in ("operational", "none"):  # quiet
            if self.run and d.state != self.run_state:
                self._flush()
            self.run_state = d.state
            self.run += 1
            return
        self._flush()
        css = BAR_CLASS.get(d.state, "")
        css = f" class={css}" if css else ""
        tip = f"<span class=tip>{escape(d.label)}</span>"
        if d.href:
            self.out.append(f'<a{css} href="{escape(relative(d.href, self.page_path))}">{tip}</a>')
        else:
            self.out.append(f"<b{css} tabindex=0>{tip}</b>")

    def markup(self) -> Markup:
        self._flush()
        return Markup("".join(self.out))  # noqa: S704  (every value above is escaped)


@dataclass(frozen=True)
class MonthCalendar:
    """One month of one component: weeks Monday first, None where the month has no day."""

    heading: str
    iso: str
    weeks: tuple[tuple[DayCell | None, ...], ...]
    percent: str
    _html: dict[tuple[tuple[str, ...], str], Markup] = field(
        default_factory=dict, compare=False, repr=False
    )

    def table_html(self, weekdays: Sequence[str], page_path: str) -> Markup:
        """The month as a table, links relative to the page it is on (built here, not in a
        template: a page of calendars has thousands of days). Kept with the month, see
        month_calendars."""
        key = (tuple(weekdays), page_path)
        html = self._html.get(key)
        if html is None:
            html = self._html[key] = calendar_table(self, key[0], page_path)
        return html


def calendar_table(month: MonthCalendar, weekdays: Sequence[str], page_path: str) -> Markup:
    """A month's table: a cell per day, its label both tooltip and screen-reader text, a
    link to its incidents."""
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


@dataclass(frozen=True)
class HistoryLinks:
    """Where /history lists a day's incidents: the page holding its month, at the month.

    A value (hashable), so built rows and months can be kept by what they were built from.
    """

    today: date
    months_per_page: int

    def __call__(self, day: date) -> str:
        back = (self.today.year - day.year) * 12 + self.today.month - day.month
        number = back // self.months_per_page + 1
        return f"{history_path(number)}#month-{day:%Y-%m}"


def history_links(today: date, months_per_page: int) -> HistoryLinks:
    """Links from a day to the history page listing its incidents."""
    return HistoryLinks(today, months_per_page)


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


# A day as the memo keys know it: its date, its microseconds per status, whether it has data.
DayKey = tuple[date, tuple[tuple[ComponentStatus, int], ...], bool]


def _day_key(figures: DayFigures) -> DayKey:
    return figures.day, tuple(figures.us.items()), figures.has_data


def day_cell(
    figures: DayFigures,
    incidents: Sequence[IncidentRef],
    history_href: HistoryLinks,
    *,
    label_quiet: bool = True,
) -> DayCell:
    """One day, labelled and linked to its incidents: a calendar cell, or a bar.

    A bar (``label_quiet=False``) leaves a quiet day (no trouble, no incident) unlabelled,
    since its bar shows none (most days are quiet; their labels were most of a render).
    Kept per distinct day (its figures, incidents, language): a re-render after a change
    labels only the days that changed, mostly today.
    """
    return _cell(_day_key(figures), tuple(incidents), history_href, i18n.current(), label_quiet)


@lru_cache(maxsize=65_536)
def _cell(
    key: DayKey,
    incidents: tuple[IncidentRef, ...],
    history_href: HistoryLinks,
    language: str,  # part of the key: the label is in it
    label_quiet: bool,
) -> DayCell:
    day, us, has_data = key
    figures = DayFigures(day=day, us=dict(us), has_data=has_data)
    worst = figures.worst if has_data else None
    href = None
    if len(incidents) == 1:
        (only,) = incidents
        href = f"/{'maintenance' if only.maintenance else 'incidents'}/{only.id}/"
    elif incidents:
        href = history_href(day)
    trouble = has_data and any(spent > 0 for s, spent in us if s in TROUBLE)
    return DayCell(
        iso=day.isoformat(),
        number=day.day,
        state=worst.value if worst else "none",
        label=day_label(figures, incidents) if incidents or trouble or label_quiet else "",
        href=href,
    )


def _refs(
    component_id: str, days: Sequence[DayFigures], incidents: Incidents
) -> tuple[tuple[IncidentRef, ...], ...]:
    return tuple(tuple(incidents.get((component_id, d.day), ())) for d in days)


def uptime_bars(
    component_id: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    weights: Weights,
    history_href: HistoryLinks,
) -> UptimeBars:
    """One bar per day and the uptime over all of them.

    A row's past days are kept (their cells, time per status and markup; see _PastRow) per
    distinct content and language: after a change only the rows that changed are built again,
    and a page of hundreds of rows costs a key per row and today's bar.
    """
    if not days:
        return UptimeBars(days=(), percent=format_percent(None), has_data=False)
    language = i18n.current()
    *before, today = days
    row = _past_row(
        tuple(_day_key(d) for d in before),
        _refs(component_id, before, incidents),
        history_href,
        language,
    )
    found = tuple(incidents.get((component_id, today.day), ()))
    last = _cell(_day_key(today), found, history_href, language, False)
    percent = uptime_percent(_plus(row.total, today.us), weights)
    short = uptime_percent(_plus(row.short_total, today.us), weights)
    since = row.first_with_data or (today.day if today.has_data else None)
    short_since = row.short_first_with_data or (today.day if today.has_data else None)
    starts = before[0].has_data if before else today.has_data
    # The first of the days a phone shows: today and the SHORT_DAYS - 1 days before it.
    short_starts = before[-(SHORT_DAYS - 1)].has_data if len(before) >= SHORT_DAYS - 1 else starts
    return UptimeBars(
        days=(*row.cells, last),
        percent=format_percent(percent),
        has_data=percent is not None,
        short_percent=format_percent(short),
        short_has_data=short is not None,
        since="" if starts or since is None else i18n.day(since),
        short_since="" if short_starts or short_since is None else i18n.day(short_since),
        past=row,
    )


def _plus(
    total: Mapping[ComponentStatus, int], us: Mapping[ComponentStatus, int]
) -> dict[ComponentStatus, int]:
    out = dict(total)
    for status, spent in us.items():
        out[status] = out.get(status, 0) + spent
    return out


@dataclass(frozen=True)
class _PastRow:
    """A row of bars but its last day (today, whose figures move with the clock): cells, time
    per status (all of it, and over the days a phone shows), and markup by page path."""

    cells: tuple[DayCell, ...]
    total: dict[ComponentStatus, int]
    short_total: dict[ComponentStatus, int]  # the SHORT_DAYS - 1 days before today
    first_with_data: date | None
    short_first_with_data: date | None
    _markup: dict[str, _BarMarkup] = field(default_factory=dict, compare=False, repr=False)

    def markup(self, page_path: str) -> _BarMarkup:
        """These days drawn, ready for today's bar (copy it before adding)."""
        bars = self._markup.get(page_path)
        if bars is None:
            bars = _BarMarkup(len(self.cells) + 1, page_path)
            for d in self.cells:
                bars.add(d)
            self._markup[page_path] = bars
        return bars


@lru_cache(maxsize=4096)
def _past_row(
    key: tuple[DayKey, ...],
    refs: tuple[tuple[IncidentRef, ...], ...],
    history_href: HistoryLinks,
    language: str,
) -> _PastRow:
    def summed(keys: Sequence[DayKey]) -> dict[ComponentStatus, int]:
        total = dict.fromkeys(ComponentStatus, 0)
        for _day, us, _has_data in keys:
            for status, spent in us:
                total[status] += spent
        return total

    def first(keys: Sequence[DayKey]) -> date | None:
        return next((day for day, _us, has_data in keys if has_data), None)

    short = key[max(0, len(key) - (SHORT_DAYS - 1)) :]
    return _PastRow(
        cells=tuple(
            _cell(k, found, history_href, language, False)
            for k, found in zip(key, refs, strict=True)
        ),
        total=summed(key),
        short_total=summed(short),
        first_with_data=first(key),
        short_first_with_data=first(short),
    )


def covered_since(days: Sequence[DayFigures]) -> str:
    """The first day an uptime figure over `days` covers, when the component is younger than
    them (its days before are no data, as their bars are); "" when it covers them all."""
    if not days or days[0].has_data:
        return ""
    first = next((d.day for d in days if d.has_data), None)
    return i18n.day(first) if first else ""


def month_calendars(
    component_id: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    months: Sequence[date],
    weights: Weights,
    history_href: HistoryLinks,
) -> list[MonthCalendar]:
    """Calendars of the given months (their first days); days without figures are future.

    Each month is kept per distinct content (as rows of bars are, see uptime_bars).
    """
    by_month: dict[date, list[DayFigures]] = {}
    for d in days:
        by_month.setdefault(d.day.replace(day=1), []).append(d)
    language = i18n.current()
    out = []
    for first in months:
        in_month = by_month.get(first, [])
        key = tuple(_day_key(d) for d in in_month)
        refs = _refs(component_id, in_month, incidents)
        out.append(_month(first, key, refs, weights, history_href, language))
    return out


@lru_cache(maxsize=16_384)
def _month(
    first: date,
    key: tuple[DayKey, ...],
    refs: tuple[tuple[IncidentRef, ...], ...],
    weights: Weights,
    history_href: HistoryLinks,
    language: str,
) -> MonthCalendar:
    known = {k[0]: (k, found) for k, found in zip(key, refs, strict=True)}
    cells: list[DayCell | None] = [None] * first.weekday()
    for number in range(1, calendar.monthrange(first.year, first.month)[1] + 1):
        day = first.replace(day=number)
        if day not in known:
            label = _("%(day)s: not yet") % {"day": day_heading(day)}
            cells.append(DayCell(day.isoformat(), number, "future", label, None))
            continue
        cells.append(_cell(*known[day], history_href, language, True))
    cells.extend([None] * (-len(cells) % 7))
    in_month = [DayFigures(day=d, us=dict(us), has_data=has_data) for d, us, has_data in key]
    return MonthCalendar(
        heading=i18n.month(first),
        iso=f"{first:%Y-%m}",
        weeks=tuple(tuple(cells[i : i + 7]) for i in range(0, len(cells), 7)),
        percent=format_percent(period_percent(in_month, weights)),
    )


def component_calendar(
    component_id: str,
    name: str,
    days: Sequence[DayFigures],
    incidents: Incidents,
    *,
    months: Sequence[date],
    weights: Weights,
    history_href: HistoryLinks,
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

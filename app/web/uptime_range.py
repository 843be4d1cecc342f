"""Uptime over a range a reader chooses: /uptime/?from=&to= and its CSV and JSON exports.

`/uptime/` without a range is the cached calendar page (app.web.uptime_page). With `from` (and
`to`) it shows, for the showcased components and their groups, the range's uptime, downtime
minutes and incidents, and a table per year of monthly figures. The same figures for every
showcased component and group are at /api/v2/uptime.json and /api/v2/uptime.csv (the default
range without a query).

Answers for a chosen range are not kept by the render cache (`is_range_read`): one per range
would let anyone fill its memory with addresses nobody asks for twice. They are computed from
monthly sums of the daily rollups when asked for (app.uptime.ranges), a few at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import Session

from app import i18n
from app.brand import current
from app.cacheable import PublicRoute
from app.components import service as components
from app.config import Settings
from app.errors import NotFound, beyond_schema
from app.i18n import _
from app.models import Component, ComponentStatus
from app.page import PageInfo, page_info
from app.uptime import ranges, service
from app.uptime.ranges import DateRange, Period, RangeReport
from app.uptime.schemas import PeriodUptime, RangeUptime, RangeUptimeRow, UptimeWeights
from app.web import uptime_view
from app.web.reader import ReaderDep
from app.web.uptime_page import UPTIME_COMPONENTS_PER_PAGE, showcased

US_PER_MINUTE = 60_000_000
RANGE_PATHS = ("/uptime/", "/api/v2/uptime.", "/api/v2/components/")
RANGE_PARAMS = ("from", "to")


def is_range_read(path: str, query: bytes) -> bool:
    """Whether a request asks for a chosen range (answered afresh, never kept in the render
    cache). `path` is without its language prefix."""
    if not query or not path.startswith(RANGE_PATHS):
        return False
    asked = parse_qs(query.decode("latin-1"), keep_blank_values=True)
    return any(name in asked for name in RANGE_PARAMS)


# -- the figures, for the page -----------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One period of one row, written for reading."""

    percent: str
    major: str
    partial: str
    incidents: str
    has_data: bool
    label: str  # the period and its figures in words (a cell's title)


@dataclass(frozen=True)
class RowView:
    """A component, or a group over its components."""

    id: str
    name: str
    is_group: bool
    in_group: bool
    total: Figure
    months: dict[str, Figure]
    years: dict[str, Figure]


@dataclass(frozen=True)
class YearTable:
    """One year of the range: a column per month of it, then the year."""

    year: str
    months: list[tuple[str, str]]  # (key "2025-09", heading "Sep")


@dataclass(frozen=True)
class UptimeRangePage:
    """The /uptime/ page for a chosen range."""

    page: PageInfo
    range: str
    first: str  # YYYY-MM-DD, for the form
    last: str
    today: str
    query: str
    note: str
    rows: list[RowView]
    years: list[YearTable]
    presets: list[tuple[str, str]]
    number: int = 1
    newer: int | None = None
    older: int | None = None

    def page_path(self, number: int) -> str:
        """Page `number` of this range."""
        base = f"/uptime/{number}/" if number > 1 else "/uptime/"
        return f"{base}?{self.query}"

    @property
    def csv_path(self) -> str:
        """This range as CSV."""
        return f"/api/v2/uptime.csv?{self.query}"

    @property
    def json_path(self) -> str:
        """This range as JSON."""
        return f"/api/v2/uptime.json?{self.query}"


def minutes(us: int) -> float:
    """Microseconds as minutes, to the hundredth."""
    return round(us / US_PER_MINUTE, 2)


def _figure(period: Period, weights: service.Weights, heading: str) -> Figure:
    percent = service.uptime_percent(period.us, weights)
    major = period.us.get(ComponentStatus.major_outage, 0)
    partial = period.us.get(ComponentStatus.partial_outage, 0)
    words = [heading, uptime_view.format_percent(percent)]
    if major:
        words.append(_("%(duration)s major outage") % {"duration": uptime_view.duration(major)})
    if partial:
        words.append(_("%(duration)s partial outage") % {"duration": uptime_view.duration(partial)})
    if period.incidents:
        words.append(
            i18n.ngettext("%(num)d incident", "%(num)d incidents", period.incidents)
            % {"num": period.incidents}
        )
    return Figure(
        percent=uptime_view.format_percent(percent),
        major=uptime_view.duration(major) if major else "\N{EN DASH}",
        partial=uptime_view.duration(partial) if partial else "\N{EN DASH}",
        incidents=str(period.incidents),
        has_data=percent is not None,
        label=", ".join(words),
    )


def _month_heading(key: str) -> str:
    year, month = key.split("-")
    return i18n.month(date(int(year), int(month), 1))


def range_text(span: DateRange) -> str:
    """The range in words: its first and last day."""
    return f"{i18n.day(span.first)} \N{EN DASH} {i18n.day(span.last)}"


def report_for(
    session: Session,
    settings: Settings,
    now: datetime,
    span: DateRange,
    listed: Sequence[Component],
    *,
    full_names: bool = True,
) -> RangeReport:
    """Figures of `listed` (showcased components) and their groups over `span`; a grouped
    component is named "Group - Component" unless `full_names` is off (a page shows it under
    its group)."""
    everything = components.list_components(session)
    groups = {c.id: c for c in everything if c.is_group}
    names = {c.id: components.display_name(c, groups) if full_names else c.name for c in listed}
    return ranges.range_report(
        session,
        ranges.showcased_rows(listed, everything),
        span,
        names=names,
        now=now,
        tz=settings.tz,
    )


def range_page(
    session: Session, settings: Settings, now: datetime, span: DateRange, number: int = 1
) -> UptimeRangePage:
    """Page `number` of the range's figures: 25 components a page, with their groups."""
    everything = components.list_components(session)
    listed = showcased(everything)
    pages = max(1, -(-len(listed) // UPTIME_COMPONENTS_PER_PAGE))
    if number > pages:
        raise NotFound(f"the uptime pages end at page {pages}")
    shown = listed[(number - 1) * UPTIME_COMPONENTS_PER_PAGE :][:UPTIME_COMPONENTS_PER_PAGE]
    with ranges.reading_slot():
        report = report_for(session, settings, now, span, shown, full_names=False)
    weights = service.weights_of(settings)
    rows = []
    for row in report.rows:
        rows.append(
            RowView(
                id=row.id,
                name=row.name,
                is_group=row.is_group,
                in_group=bool(row.group_id) and not row.is_group,
                total=_figure(row.total, weights, range_text(span)),
                months={p.key: _figure(p, weights, _month_heading(p.key)) for p in row.months},
                years={p.key: _figure(p, weights, p.key) for p in row.years},
            )
        )
    years: dict[str, list[tuple[str, str]]] = {}
    for year, month in ranges.months_of(span):
        heading = i18n.month_short(date(year, month, 1))
        years.setdefault(str(year), []).append((f"{year:04d}-{month:02d}", heading))
    return UptimeRangePage(
        page=page_info(settings, current(session, settings)),
        range=range_text(span),
        first=span.first.isoformat(),
        last=span.last.isoformat(),
        today=now.astimezone(settings.tz).date().isoformat(),
        query=span.query(),
        note=uptime_view.weights_note(weights),
        rows=rows,
        years=[YearTable(y, months) for y, months in reversed(years.items())],
        presets=presets(now.astimezone(settings.tz).date()),
        number=number,
        newer=number - 1 if number > 1 else None,
        older=number + 1 if number < pages else None,
    )


@dataclass(frozen=True)
class RangeForm:
    """The range form's values and the export links, for the default /uptime/ page."""

    first: str
    last: str
    today: str
    csv_path: str
    json_path: str
    presets: list[tuple[str, str]]


def presets(today: date) -> list[tuple[str, str]]:
    """Ranges one click away (plain links, no script): the last 12 months, this year, the
    two years before it."""
    year_ago = ranges.month_start(today, 11)
    out = [(_("Last 12 months"), f"/uptime/?from={year_ago.isoformat()}&to={today.isoformat()}")]
    out.append((str(today.year), f"/uptime/?from={today.year}-01-01&to={today.isoformat()}"))
    for year in (today.year - 1, today.year - 2):
        out.append((str(year), f"/uptime/?from={year}-01-01&to={year}-12-31"))
    return out


def default_form(settings: Settings, now: datetime) -> RangeForm:
    """The form filled with the default range (what the calendars show)."""
    today = now.astimezone(settings.tz).date()
    span = ranges.default_range(today)
    return RangeForm(
        first=span.first.isoformat(),
        last=span.last.isoformat(),
        today=today.isoformat(),
        csv_path="/api/v2/uptime.csv",
        json_path="/api/v2/uptime.json",
        presets=presets(today),
    )


# -- the exports ---------------------------------------------------------------------------------


def _period(period: Period, weights: service.Weights) -> PeriodUptime:
    percent = service.uptime_percent(period.us, weights)
    return PeriodUptime(
        period=period.key,
        first_day=period.first,
        last_day=period.last,
        uptime_percent=None if percent is None else round(percent, 4),
        minutes={s: minutes(period.us.get(s, 0)) for s in ComponentStatus},
        incidents=period.incidents,
    )


def export(session: Session, settings: Settings, now: datetime, span: DateRange) -> RangeUptime:
    """Every showcased component and group over the range."""
    listed = showcased(components.list_components(session))
    report = report_for(session, settings, now, span, listed)
    weights = service.weights_of(settings)
    return RangeUptime(
        first_day=span.first,
        last_day=span.last,
        time_zone=settings.timezone,
        weights=UptimeWeights(
            major_outage=weights.major_outage,
            partial_outage=weights.partial_outage,
            degraded_performance=weights.degraded_performance,
        ),
        components=[
            RangeUptimeRow(
                id=row.id,
                name=row.name,
                is_group=row.is_group,
                group_id=row.group_id,
                total=_period(row.total, weights),
                years=[_period(p, weights) for p in row.years],
                months=[_period(p, weights) for p in row.months],
            )
            for row in report.rows
        ],
    )


CSV_COLUMNS = [
    "period_type",
    "period",
    "first_day",
    "last_day",
    "id",
    "name",
    "is_group",
    "group_id",
    "uptime_percent",
    *(f"{s.value}_minutes" for s in ComponentStatus),
    "incidents",
]


def _cell(text: str) -> str:
    """A text cell a spreadsheet won't run as a formula (OWASP's CSV injection advice)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(body: RangeUptime) -> str:
    """One line per component or group and period: the range, each year, each month."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in body.components:
        periods = [("range", row.total)]
        periods += [("year", p) for p in row.years]
        periods += [("month", p) for p in row.months]
        for kind, p in periods:
            writer.writerow(
                [
                    kind,
                    p.period,
                    p.first_day.isoformat(),
                    p.last_day.isoformat(),
                    row.id,
                    _cell(row.name),
                    "true" if row.is_group else "false",
                    row.group_id or "",
                    "" if p.uptime_percent is None else f"{p.uptime_percent:.4f}",
                    *(f"{p.minutes[s]:.2f}" for s in ComponentStatus),
                    p.incidents,
                ]
            )
    return out.getvalue()


router = APIRouter(
    prefix="/api/v2", tags=["public API v2 (Statuspage-compatible)"], route_class=PublicRoute
)
FROM = Query(
    alias="from",
    json_schema_extra=ranges.DAY_OR_EMPTY,
    description="First local day (YYYY-MM-DD) of a range of up to ten years; default: the "
    "first day of the month two months ago",
)
TO = Query(
    description="Last local day (YYYY-MM-DD), included; default and at most: today",
    json_schema_extra=ranges.DAY_OR_EMPTY,
)


def _export_span(r: ReaderDep, first: str | None, to: str | None) -> DateRange:
    today = r.now.astimezone(r.settings.tz).date()
    return ranges.parse_range(first, to, today=today) or ranges.default_range(today)


@router.get("/uptime.json", responses=beyond_schema(*ranges.RANGE_RULES))
def uptime_json(
    r: ReaderDep,
    first: Annotated[str | None, FROM] = None,
    to: Annotated[str | None, TO] = None,
) -> RangeUptime:
    """Uptime %, minutes in each status and incidents of every showcased component and group
    over a range of local days, per month, per year and in all (a Pharos extension)."""
    span = _export_span(r, first, to)
    with ranges.reading_slot():
        return export(r.session, r.settings, r.now, span)


@router.get(
    "/uptime.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The figures as CSV"},
        **beyond_schema(*ranges.RANGE_RULES),
    },
)
def uptime_csv(
    r: ReaderDep,
    first: Annotated[str | None, FROM] = None,
    to: Annotated[str | None, TO] = None,
) -> Response:
    """The figures of /api/v2/uptime.json, one line per component or group and period
    (`period_type` range, year or month); minutes to the hundredth."""
    span = _export_span(r, first, to)
    with ranges.reading_slot():
        body = export(r.session, r.settings, r.now, span)
    name = f"uptime-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    return Response(
        export_csv(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

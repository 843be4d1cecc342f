"""Public latency charts: /components/{id}/latency/ and /api/v2/components/{id}/latency.json.

A component is charted when one of its probes opts in (`public_latency = true`); otherwise both
addresses are 404, so nothing about an unlisted probe leaks. The charts are SVG drawn here, on
the server, inline in the page: they work without JavaScript, take the page's colours (light
and dark, through its CSS variables), carry a title and a description for screen readers, and
the same figures stand in a table under them. Times are in the page's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from pydantic import BaseModel, Field
from sqlmodel import Session

from app import i18n
from app.cacheable import PublicRoute
from app.components import service as components
from app.config import Settings
from app.errors import NotFound
from app.i18n import _
from app.models import Component
from app.page import PageInfo, page_info
from app.probes import latency
from app.timefmt import iso
from app.web.reader import ReaderDep

# The drawing, in viewBox units: a phone shows it about 0.85 times as large, a wide screen
# at most 1.45 times (the style sheet caps its width), so text stays between 11 and 19 px.
WIDTH, HEIGHT = 400, 210
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 12, 34
FONT = 13
GRID_LINES = 4


def _series_names() -> dict[str, str]:
    return {"response": _("Response time"), "lag": _("Processing lag")}


def _window_names() -> dict[str, str]:
    return {"24h": _("Last 24 hours"), "7d": _("Last 7 days"), "30d": _("Last 30 days")}


def milliseconds(ms: float) -> str:
    """A timing for reading: "85 ms", "1.2 s"."""
    if ms < 1000:
        return _("%(value)s ms") % {"value": i18n.decimal(ms, 0)}
    return _("%(value)s s") % {"value": i18n.decimal(ms / 1000, 1 if ms < 10_000 else 0)}


def nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1 ms)."""
    value = max(value, 1.0)
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return float(factor * power)
    return float(10 * power)


@dataclass(frozen=True)
class Summary:
    """One series over one window, in figures."""

    series: str
    name: str
    count: int
    avg: str
    p95: str
    max: str


@dataclass(frozen=True)
class Chart:
    """One window: its SVG and its figures."""

    window: str
    heading: str
    svg: Markup
    summaries: list[Summary]


@dataclass(frozen=True)
class LatencyPage:
    """A component's latency charts."""

    page: PageInfo
    component_id: str
    name: str
    charts: list[Chart]


def charted_component(session: Session, component_id: str) -> tuple[Component, list[str]]:
    """The component and its public probes, or NotFound."""
    component = session.get(Component, component_id)
    probes = latency.public_probes(session, component_id) if component else []
    if component is None or not probes:
        raise NotFound(_("This component has no public latency chart."))
    return component, probes


def merge(points: Sequence[latency.Point]) -> latency.Point:
    """Points merged into one (a window's figures in all)."""
    merged = latency.Point(at=points[0].at)
    for p in points:
        merged.count += p.count
        merged.sum_ms += p.sum_ms
        merged.min_ms = min(merged.min_ms, p.min_ms)
        merged.max_ms = max(merged.max_ms, p.max_ms)
        for k, n in p.bins.items():
            merged.bins[k] = merged.bins.get(k, 0) + n
    return merged


def _time_label(at: datetime, window: latency.Window, tz: tzinfo) -> str:
    if window.span <= timedelta(days=1):
        return i18n.time_of_day(at, tz)
    return i18n.date_in_zone(at, tz)


def chart_svg(
    chart_id: str,
    title: str,
    series: Sequence[latency.Series],
    window: latency.Window,
    *,
    now: datetime,
    tz: tzinfo,
) -> Markup:
    """The window's chart: a solid line of the average and a dashed line of the 95th
    percentile per series, gaps where nothing was measured, and labelled axes."""
    end = latency.bucket_of(now, window.step) + window.step
    start = end - window.span
    names = _series_names()
    highest = max((p.quantile(0.95) for s in series for p in s.points), default=0.0)
    highest = max(highest, *(p.avg_ms for s in series for p in s.points), 0.0)
    grid = nice_step(highest * 1.05 / GRID_LINES)  # round values on every grid line
    top = grid * GRID_LINES
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        middle = at + window.step / 2
        return LEFT + plot_w * ((middle - start) / window.span)

    def y(ms: float) -> float:
        return TOP + plot_h * (1 - min(ms, top) / top)

    parts = [
        f'<svg class="latency-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-size="{FONT}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    described = []
    for s in series:
        if not s.points:
            continue
        merged = merge(s.points)
        described.append(
            _("%(series)s: average %(avg)s, 95th percentile %(p95)s, highest %(max)s.")
            % {
                "series": names[s.name],
                "avg": milliseconds(merged.avg_ms),
                "p95": milliseconds(merged.quantile(0.95)),
                "max": milliseconds(merged.max_ms),
            }
        )
    desc = " ".join(described) or _("Nothing was measured in this period.")
    parts.append(f'<desc id="{chart_id}-desc">{escape(desc)}</desc>')
    # Horizontal grid lines with their values, the x axis with the window's ends and middle.
    for step in range(GRID_LINES + 1):
        value = grid * step
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{gy + FONT * 0.35:.1f}" text-anchor="end">'
            f"{escape(milliseconds(value))}</text>"
        )
    for fraction, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        at = start + window.span * fraction
        parts.append(
            f'<text class="axis" x="{LEFT + plot_w * fraction:.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="{anchor}">{escape(_time_label(at, window, tz))}</text>'
        )
    for s in series:
        for css in ("avg", "p95"):
            path = []
            dots = []
            for index, p in enumerate(s.points):
                value = p.avg_ms if css == "avg" else p.quantile(0.95)
                joined_before = index > 0 and p.at - s.points[index - 1].at <= window.step
                joined_after = (
                    index + 1 < len(s.points) and s.points[index + 1].at - p.at <= window.step
                )
                path.append(f"{'L' if joined_before else 'M'}{x(p.at):.1f},{y(value):.1f}")
                if not joined_before and not joined_after:  # a lone point: a dot shows it
                    dots.append(f'<circle cx="{x(p.at):.1f}" cy="{y(value):.1f}" r="2.5"/>')
            name = escape(s.name)
            parts.append(
                f'<path class="line {name} {css}" d="{" ".join(path)}" fill="none" '
                'vector-effect="non-scaling-stroke"/>'
            )
            if dots and css == "avg":
                parts.append(f'<g class="dots {name}">{"".join(dots)}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every value is escaped or a number)


def _summaries(series: Sequence[latency.Series]) -> list[Summary]:
    names = _series_names()
    out = []
    for s in series:
        if not s.points:
            continue
        merged = merge(s.points)
        out.append(
            Summary(
                series=s.name,
                name=names[s.name],
                count=merged.count,
                avg=milliseconds(merged.avg_ms),
                p95=milliseconds(merged.quantile(0.95)),
                max=milliseconds(merged.max_ms),
            )
        )
    return out


def latency_page(
    session: Session, component_id: str, *, settings: Settings, now: datetime
) -> LatencyPage:
    """The three windows of a component's public probes."""
    tz = settings.tz
    component, probes = charted_component(session, component_id)
    groups = components.groups_by_id(session)
    name = components.display_name(component, groups)
    charts = []
    for key, window in latency.WINDOWS.items():
        series = latency.series_of(session, probes, window, now=now)
        heading = _window_names()[key]
        title = _("Response time and processing lag of %(component)s: %(window)s") % {
            "component": name,
            "window": heading,
        }
        charts.append(
            Chart(
                window=key,
                heading=heading,
                svg=chart_svg(f"latency-{key}", title, series, window, now=now, tz=tz),
                summaries=_summaries(series),
            )
        )
    return LatencyPage(
        page=page_info(settings), component_id=component.id, name=name, charts=charts
    )


# -- JSON ----------------------------------------------------------------------------------------


class LatencyFigures(BaseModel):
    """One point: the measurements of one step (5 minutes, 1 hour or 6 hours)."""

    count: int
    min_ms: float
    avg_ms: float
    p95_ms: float = Field(description="From a log-scale histogram: within about 7%")
    max_ms: float


class LatencyPoint(BaseModel):
    """A step's start and its figures."""

    at: str = Field(description="Start of the step, in the page's time zone")
    figures: LatencyFigures


class LatencySeries(BaseModel):
    """`response` (response time) or `lag` (processing lag of OCPP probes)."""

    series: Literal["response", "lag"]
    points: list[LatencyPoint]


class ComponentLatency(BaseModel):
    """A component's public probe timings over one window, oldest point first."""

    component_id: str
    window: Literal["24h", "7d", "30d"]
    step_seconds: int
    time_zone: str
    series: list[LatencySeries]


def _figures(p: latency.Point) -> LatencyFigures:
    return LatencyFigures(
        count=p.count,
        min_ms=round(p.min_ms, 1),
        avg_ms=round(p.avg_ms, 1),
        p95_ms=round(p.quantile(0.95), 1),
        max_ms=round(p.max_ms, 1),
    )


router = APIRouter(tags=["public API v2 (Statuspage-compatible)"], route_class=PublicRoute)
pages = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


@router.get("/api/v2/components/{component_id}/latency.json")
def latency_json(
    component_id: str,
    r: ReaderDep,
    window: Annotated[Literal["24h", "7d", "30d"], Query()] = "24h",
) -> ComponentLatency:
    """Response time and processing lag of a component's public probes (a Pharos extension):
    count, min, average, 95th percentile and max per 5 minutes (24h), hour (7d) or 6 hours
    (30d). 404 unless one of its probes opts in with `public_latency`."""
    _component, probes = charted_component(r.session, component_id)
    chosen = latency.WINDOWS[window]
    series = latency.series_of(r.session, probes, chosen, now=r.now)
    return ComponentLatency(
        component_id=component_id,
        window=window,
        step_seconds=int(chosen.step.total_seconds()),
        time_zone=r.settings.timezone,
        series=[
            LatencySeries(
                series="response" if s.name == "response" else "lag",
                points=[
                    LatencyPoint(at=iso(p.at, r.settings.tz), figures=_figures(p)) for p in s.points
                ],
            )
            for s in series
        ],
    )


@pages.get("/components/{component_id}/latency/")
def latency_html(component_id: str, r: ReaderDep) -> HTMLResponse:
    """A component's latency charts: the last 24 hours, 7 days and 30 days."""
    view = latency_page(r.session, component_id, settings=r.settings, now=r.now)
    response: HTMLResponse = r.request.app.state.templates.TemplateResponse(
        r.request, "latency.html", {"view": view, "page": view.page}
    )
    return response

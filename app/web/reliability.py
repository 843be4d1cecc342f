"""The public reliability report (opt-in, PHAROS_RELIABILITY_PAGE): /reliability/ and its
JSON and CSV exports, for a calendar year (`?year=2025`) or days (`?start=...&end=...`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app import i18n
from app.cacheable import PublicRoute
from app.errors import NotFound
from app.fleet import reliability
from app.fleet.rollup import list_areas
from app.web.pages import render
from app.web.reader import Reader, ReaderDep

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@dataclass(frozen=True)
class Row:
    """One line of the page's table."""

    name: str
    chargers: int
    percent: str
    meets: bool | None


def _report(
    r: Reader, year: int | None, start: date | None, end: date | None
) -> tuple[reliability.Window, reliability.Figure, list[reliability.Figure]]:
    if not r.settings.reliability_page:
        raise NotFound("this page does not publish a reliability report")
    win = reliability.asked_window(r.settings.tz, r.now, year, start, end)
    network, areas = reliability.report(
        r.session, win, areas=list_areas(r.session), tz=r.settings.tz
    )
    return win, network, areas


def _row(name: str, figure: reliability.Figure) -> Row:
    value = figure.reliability
    shown = "\u2013" if value is None else i18n.percent(value * 100, 2)
    return Row(name, len(figure.measured), shown, figure.meets_duty)


@router.get("/reliability/")
def page(
    r: ReaderDep, year: Year = None, start: date | None = None, end: date | None = None
) -> HTMLResponse:
    """The network's and each area's reliability."""
    win, network, areas = _report(r, year, start, end)
    this_year = r.now.astimezone(r.settings.tz).year
    return render(
        r.request,
        "reliability.html",
        period=f"{i18n.medium_date(win.first_day)} \u2013 {i18n.medium_date(win.last_day)}",
        network=_row(i18n._("All rapid chargers"), network),
        areas=[_row(a.name, a) for a in areas],
        years=[this_year - 1, this_year],
        query=f"year={year}" if year else (f"start={start}&end={end}" if start else ""),
    )


@router.get("/reliability.json")
def as_json(
    r: ReaderDep, year: Year = None, start: date | None = None, end: date | None = None
) -> Response:
    """The report as JSON (the staff API's figures, without each charger)."""
    win, network, areas = _report(r, year, start, end)
    body = json.dumps(reliability.as_json(win, network, areas), separators=(",", ":"))
    return Response(body, media_type="application/json")


@router.get("/reliability.csv")
def as_csv(
    r: ReaderDep, year: Year = None, start: date | None = None, end: date | None = None
) -> Response:
    """Every rapid charger's figure, then the network's, as CSV."""
    win, network, _ = _report(r, year, start, end)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(reliability.as_csv_rows(network))
    name = f"reliability-{win.first_day}-{win.last_day}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

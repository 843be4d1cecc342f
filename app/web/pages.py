"""Public HTML pages: /, /incidents/{id}, /history, /uptime."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.brand import current_from
from app.cacheable import PublicRoute
from app.page import page_info
from app.probes import latency as probe_latency
from app.uptime import ranges as uptime_ranges
from app.web import front_page, uptime_range, views
from app.web import history as history_views
from app.web import uptime_page as uptime_pages
from app.web.reader import Reader, ReaderDep

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


def render(request: Request, template: str, **context: object) -> HTMLResponse:
    """A public page from its template and view model (whose frame, if it has one, is the
    page's; else the brand is read here)."""
    if "page" not in context:
        framed = getattr(context.get("view"), "page", None)
        if framed is None:
            settings = request.app.state.settings
            framed = page_info(settings, current_from(request.app.state.engine, settings))
        context["page"] = framed
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context
    )
    return response


@router.get("/")
def index(r: ReaderDep) -> HTMLResponse:
    """The status page."""
    view = front_page.index_page(r.session, r.settings, r.now, r.request.app.state.per_version)
    charted = probe_latency.charted_components(r.session)  # app.web.latency draws them
    return render(r.request, "index.html", view=view, charted=charted)


@router.get("/incidents/{incident_id}/")
def incident(incident_id: str, r: ReaderDep) -> HTMLResponse:
    """One incident's report: postmortem first, then the timeline."""
    return render(
        r.request, "incident.html", incident=views.incident_page(r.session, r.settings, incident_id)
    )


@router.get("/maintenance/{maintenance_id}/")
def maintenance(maintenance_id: str, r: ReaderDep) -> HTMLResponse:
    """One scheduled maintenance: its window, the timeline, what it affects."""
    view = views.incident_page(r.session, r.settings, maintenance_id, is_maintenance=True)
    return render(r.request, "incident.html", incident=view)


@router.get("/history/")
def history(r: ReaderDep, page: Annotated[int, Query(ge=1, le=1200)] = 1) -> HTMLResponse:
    """Past incidents by month, three months a page (`?page=N` is kept for old links)."""
    return render(
        r.request,
        "history.html",
        view=history_views.history_page(r.session, r.settings, r.now, page),
    )


@router.get("/history/{number:int}/")
def history_page(r: ReaderDep, number: Annotated[int, Path(ge=1, le=1200)]) -> HTMLResponse:
    """Page `number` of past incidents (page 1 is /history/)."""
    return history(r, number)


@router.get("/history/{month}/")
def history_month(
    r: ReaderDep,
    month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> HTMLResponse:
    """Every incident of one month (a history page lists a busy month's newest only)."""
    first = date.fromisoformat(month + "-01")
    view = history_views.history_page(r.session, r.settings, r.now, 1, first)
    return render(r.request, "history.html", view=view)


def _uptime(r: Reader, number: int, first: str | None, to: str | None) -> HTMLResponse:
    today = r.now.astimezone(r.settings.tz).date()
    span = uptime_ranges.parse_range(first, to, today=today)
    if span is not None:  # a range the reader chose (app.web.uptime_range)
        chosen = uptime_range.range_page(r.session, r.settings, r.now, span, number)
        return render(r.request, "uptime_range.html", view=chosen)
    view = uptime_pages.uptime_page(
        r.session, r.settings, r.now, number, r.request.app.state.per_version
    )
    form = uptime_range.default_form(r.settings, r.now)
    return render(r.request, "uptime.html", view=view, form=form)


RangeFrom = Annotated[str | None, Query(alias="from")]


@router.get("/uptime/")
def uptime(r: ReaderDep, first: RangeFrom = None, to: str | None = None) -> HTMLResponse:
    """Monthly uptime calendars of the showcased components, the first page of them; or,
    with `?from=YYYY-MM-DD&to=YYYY-MM-DD`, their figures over that range."""
    return _uptime(r, 1, first, to)


@router.get("/uptime/{number:int}/")
def uptime_page(
    r: ReaderDep,
    number: Annotated[int, Path(ge=1, le=10_000)],
    first: RangeFrom = None,
    to: str | None = None,
) -> HTMLResponse:
    """Page `number` of the uptime calendars (page 1 is /uptime/), or of a range's figures."""
    return _uptime(r, number, first, to)

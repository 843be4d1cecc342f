"""Public HTML pages: /, /incidents/{id}, /history, /uptime."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.cacheable import PublicRoute
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import ReadSessionDep
from app.page import page_info
from app.web import front_page, views
from app.web import history as history_views
from app.web import uptime_page as uptime_pages

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


def render(request: Request, template: str, **context: object) -> HTMLResponse:
    context.setdefault("page", page_info(request.app.state.settings))
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context
    )
    return response


@router.get("/")
def index(
    request: Request, session: ReadSessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """The status page."""
    return render(request, "index.html", view=front_page.index_page(session, settings, clock()))


@router.get("/incidents/{incident_id}/")
def incident(
    incident_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """One incident's report: postmortem first, then the timeline."""
    view = views.incident_page(session, settings, incident_id)
    return render(request, "incident.html", incident=view)


@router.get("/maintenance/{maintenance_id}/")
def maintenance(
    maintenance_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """One scheduled maintenance: its window, the timeline, what it affects."""
    view = views.incident_page(session, settings, maintenance_id, is_maintenance=True)
    return render(request, "incident.html", incident=view)


@router.get("/history/")
def history(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    page: Annotated[int, Query(ge=1, le=1200)] = 1,
) -> HTMLResponse:
    """Past incidents by month, three months a page (`?page=N` is kept for old links)."""
    return render(
        request, "history.html", view=history_views.history_page(session, settings, clock(), page)
    )


@router.get("/history/{number:int}/")
def history_page(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    number: Annotated[int, Path(ge=1, le=1200)],
) -> HTMLResponse:
    """Page `number` of past incidents (page 1 is /history/)."""
    view = history_views.history_page(session, settings, clock(), number)
    return render(request, "history.html", view=view)


@router.get("/history/{month}/")
def history_month(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> HTMLResponse:
    """Every incident of one month (a history page lists a busy month's newest only)."""
    first = date.fromisoformat(month + "-01")
    view = history_views.history_page(session, settings, clock(), 1, first)
    return render(request, "history.html", view=view)


@router.get("/uptime/")
def uptime(
    request: Request, session: ReadSessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """Monthly uptime calendars of the showcased components, the first page of them."""
    return render(request, "uptime.html", view=uptime_pages.uptime_page(session, settings, clock()))


@router.get("/uptime/{number:int}/")
def uptime_page(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    number: Annotated[int, Path(ge=1, le=10_000)],
) -> HTMLResponse:
    """Page `number` of the uptime calendars (page 1 is /uptime/)."""
    view = uptime_pages.uptime_page(session, settings, clock(), number)
    return render(request, "uptime.html", view=view)

"""Public HTML pages: /, /incidents/{id}, /history, /uptime."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.clock import ClockDep
from app.config import SettingsDep
from app.db import ReadSessionDep
from app.web import history as history_views
from app.web import views

router = APIRouter(tags=["public pages"], include_in_schema=False)


def render(request: Request, template: str, **context: object) -> HTMLResponse:
    context.setdefault("page", views.page_info(request.app.state.settings))
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context
    )
    return response


@router.get("/")
def index(
    request: Request, session: ReadSessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """The status page."""
    return render(request, "index.html", view=views.index_page(session, settings, clock()))


@router.get("/incidents/{incident_id}")
def incident(
    incident_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """One incident's report: postmortem first, then the timeline."""
    view = views.incident_page(session, settings, incident_id)
    return render(request, "incident.html", incident=view)


@router.get("/maintenance/{maintenance_id}")
def maintenance(
    maintenance_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> HTMLResponse:
    """One scheduled maintenance: its window, the timeline, what it affects."""
    view = views.incident_page(session, settings, maintenance_id, is_maintenance=True)
    return render(request, "incident.html", incident=view)


@router.get("/history")
def history(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    page: Annotated[int, Query(ge=1, le=1200)] = 1,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM: all of it")
    ] = None,
) -> HTMLResponse:
    """Past incidents by month, three months a page; or every incident of one month."""
    whole = date.fromisoformat(month + "-01") if month else None
    view = history_views.history_page(session, settings, clock(), page, whole)
    return render(request, "history.html", view=view)


@router.get("/uptime")
def uptime(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Monthly uptime calendars of the showcased components, a page at a time."""
    view = views.uptime_page(session, settings, clock(), page)
    return render(request, "uptime.html", view=view)

"""Incidents: list, open (with templates), the staff incident page, updates, postmortems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.deps import (
    PREFIX,
    Editor,
    EditorPost,
    Viewer,
    done,
    render,
)
from app.admin.flow import FormState, attempt, kept, render_form
from app.admin.forms import FormValues
from app.clock import ClockDep
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.errors import InvalidInput, PharosError
from app.incidents import read, service
from app.incidents import templates as incident_templates
from app.incidents.schemas import IncidentCreate, UpdateCreate, UpdateEdit
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)
COMPONENTS = {"components": "component."}
PER_PAGE = 50


def _form_data(form: FormValues) -> dict[str, object]:
    """The incident/update fields every incident form shares."""
    return {
        "status": form.get("status"),
        "body": form.get("body"),
        "components": form.with_prefix("component."),
        "deliver_notifications": form.checked("notify"),
    }


def _domain_field(exc: PharosError) -> str:
    """Where a service's refusal of an incident form is shown."""
    return "components" if "component" in exc.message else "_form"


def _update_field(exc: PharosError) -> str:
    """Where a service's refusal of an update is shown."""
    if "status" in exc.message or "resolved" in exc.message:
        return "status"
    return _domain_field(exc)


@router.get("/incidents")
def incident_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: Viewer,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Every incident, newest first."""
    found = read.list_incidents(session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    total = read.count_incidents(session)
    return render(
        request,
        "admin/incidents.html",
        staff=staff,
        incidents=views.incident_rows(session, found, settings.tz),
        page_number=page,
        has_more=page * PER_PAGE < total,
    )


def _new_page(
    request: Request, session: Session, staff: SignedIn, shown: FormState
) -> HTMLResponse:
    return render_form(
        request,
        "admin/incident_new.html",
        staff,
        shown,
        components=views.component_rows(session),
        templates=incident_templates.list_templates(session),
        incident_choices=views.INCIDENT_CHOICES,
        component_choices=views.COMPONENT_CHOICES,
    )


@router.get("/incidents/new")
def new_incident(
    request: Request, session: SessionDep, staff: Editor, template: str = ""
) -> HTMLResponse:
    """The new-incident form, filled from a template when one is picked."""
    shown = kept(session, staff, request, FormValues.of(status="investigating", notify=True))
    if template and not shown.draft:
        t = incident_templates.get_template(session, template)
        values = FormValues.of(
            name=t.title,
            status=t.status.value,
            body=t.body,
            notify=True,
            **{f"component.{k}": v for k, v in t.components.items()},
        )
        shown = FormState(values)
    return _new_page(request, session, staff, shown)


@router.post("/incidents/new")
def open_incident(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Open the incident through the same service as the API."""
    form = post.form
    outcome = attempt(
        session,
        form,
        lambda: service.open_incident(
            session,
            data=IncidentCreate.model_validate({"name": form.get("name"), **_form_data(form)}),
            settings=settings,
            actor=post.actor,
            now=clock(),
        ),
        field=_domain_field,
        prefix=COMPONENTS,
    )
    if isinstance(outcome, FormState):
        return _new_page(request, session, post.staff, outcome)
    return done(f"{PREFIX}/incidents/{outcome.id}", "opened")


def _incident_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    incident_id: str,
    shown: FormState,
) -> HTMLResponse:
    incident = views.incident_page(session, settings, incident_id)
    next_status = incident.status if incident.is_open else "resolved"
    return render_form(
        request,
        "admin/incident.html",
        staff,
        shown,
        defaults=FormValues.of(status=next_status, notify=True),
        incident=incident,
        components=views.component_rows(session),
        incident_choices=views.INCIDENT_CHOICES,
        component_choices=views.COMPONENT_CHOICES,
    )


@router.get("/incidents/{incident_id}")
def incident_page(
    incident_id: str, request: Request, session: SessionDep, settings: SettingsDep, staff: Viewer
) -> HTMLResponse:
    """The staff incident page: timeline and the post-update form."""
    shown = kept(session, staff, request)
    return _incident_page(request, session, settings, staff, incident_id, shown)


@router.post("/incidents/{incident_id}/updates")
def post_update(
    incident_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Post an update (status, message, component changes, notify), as the API does."""
    outcome = attempt(
        session,
        post.form,
        lambda: service.post_update(
            session,
            incident_id,
            data=UpdateCreate.model_validate(_form_data(post.form)),
            settings=settings,
            actor=post.actor,
            now=clock(),
        ),
        field=_update_field,
        prefix=COMPONENTS,
    )
    if isinstance(outcome, FormState):
        return _incident_page(request, session, settings, post.staff, incident_id, outcome)
    return done(f"{PREFIX}/incidents/{incident_id}", "posted")


def _edit_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    incident_id: str,
    update_id: str,
    shown: FormState,
) -> HTMLResponse:
    incident = views.incident_page(session, settings, incident_id)
    update = next((u for u in incident.updates if u.id == update_id), None)
    if update is None:
        raise InvalidInput(f"update {update_id!r} is not part of incident {incident_id!r}")
    return render_form(
        request,
        "admin/update_edit.html",
        staff,
        shown,
        defaults=FormValues.of(body=update.body),
        incident=incident,
        update=update,
    )


@router.get("/incidents/{incident_id}/updates/{update_id}/edit")
def edit_update_form(
    incident_id: str,
    update_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: Editor,
) -> HTMLResponse:
    """Fix the text of an earlier update."""
    shown = kept(session, staff, request)
    return _edit_page(request, session, settings, staff, incident_id, update_id, shown)


@router.post("/incidents/{incident_id}/updates/{update_id}/edit")
def edit_update(
    incident_id: str,
    update_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Save the corrected text (audited, as through the API)."""
    outcome = attempt(
        session,
        post.form,
        lambda: service.edit_update(
            session,
            incident_id,
            update_id,
            data=UpdateEdit.model_validate({"body": post.form.get("body")}),
            actor=post.actor,
            now=clock(),
        ),
    )
    if isinstance(outcome, FormState):
        return _edit_page(request, session, settings, post.staff, incident_id, update_id, outcome)
    return done(f"{PREFIX}/incidents/{incident_id}", "edited")

"""Incidents: list, open (with templates), the staff incident page, updates, postmortems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.admin import views
from app.admin.deps import (
    PREFIX,
    Draft,
    Editor,
    EditorPost,
    Viewer,
    done,
    render,
    take_draft,
)
from app.admin.forms import FormErrors, FormValues
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


def _domain_errors(exc: PharosError) -> FormErrors:
    field = "components" if "component" in exc.message else "_form"
    return FormErrors.from_domain(exc, field)


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
    request: Request,
    session: Session,
    staff: SignedIn,
    values: FormValues,
    errors: FormErrors | None = None,
    draft: Draft | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin/incident_new.html",
        staff=staff,
        status=status,
        values=values,
        errors=errors or FormErrors(),
        draft=draft,
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
    draft = take_draft(session, staff, request.url.path)
    values = FormValues.of(status="investigating", notify=True)
    if draft:
        values = draft.values
    elif template:
        t = incident_templates.get_template(session, template)
        values = FormValues.of(
            name=t.title,
            status=t.status.value,
            body=t.body,
            notify=True,
            **{f"component.{k}": v for k, v in t.components.items()},
        )
    return _new_page(request, session, staff, values, draft=draft)


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
    try:
        data = IncidentCreate.model_validate({"name": form.get("name"), **_form_data(form)})
        incident = service.open_incident(
            session, data=data, settings=settings, actor=post.actor, now=clock()
        )
    except ValidationError as exc:
        errors = FormErrors.from_validation(exc, prefix=COMPONENTS)
        return _new_page(request, session, post.staff, form, errors, status=422)
    except PharosError as exc:
        session.rollback()
        errors = _domain_errors(exc)
        return _new_page(request, session, post.staff, form, errors, status=exc.status_code)
    return done(f"{PREFIX}/incidents/{incident.id}", "opened")


def _incident_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    incident_id: str,
    *,
    values: FormValues | None = None,
    errors: FormErrors | None = None,
    draft: Draft | None = None,
    status: int = 200,
) -> HTMLResponse:
    incident = views.incident_page(session, settings, incident_id)
    if values is None:
        next_status = incident.status if incident.is_open else "resolved"
        values = FormValues.of(status=next_status, notify=True)
    return render(
        request,
        "admin/incident.html",
        staff=staff,
        status=status,
        incident=incident,
        values=values,
        errors=errors or FormErrors(),
        draft=draft,
        components=views.component_rows(session),
        incident_choices=views.INCIDENT_CHOICES,
        component_choices=views.COMPONENT_CHOICES,
    )


@router.get("/incidents/{incident_id}")
def incident_page(
    incident_id: str, request: Request, session: SessionDep, settings: SettingsDep, staff: Viewer
) -> HTMLResponse:
    """The staff incident page: timeline and the post-update form."""
    draft = take_draft(session, staff, request.url.path)
    return _incident_page(
        request,
        session,
        settings,
        staff,
        incident_id,
        values=draft.values if draft else None,
        draft=draft,
    )


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
    try:
        data = UpdateCreate.model_validate(_form_data(post.form))
        service.post_update(
            session, incident_id, data=data, settings=settings, actor=post.actor, now=clock()
        )
    except ValidationError as exc:
        errors = FormErrors.from_validation(exc, prefix=COMPONENTS)
        return _incident_page(
            request, session, settings, post.staff, incident_id, values=post.form, errors=errors,
            status=422,
        )  # fmt: skip
    except PharosError as exc:
        session.rollback()
        errors = _domain_errors(exc)
        if "status" in exc.message or "resolved" in exc.message:
            errors = FormErrors.from_domain(exc, "status")
        return _incident_page(
            request, session, settings, post.staff, incident_id, values=post.form, errors=errors,
            status=exc.status_code,
        )  # fmt: skip
    return done(f"{PREFIX}/incidents/{incident_id}", "posted")


def _edit_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    incident_id: str,
    update_id: str,
    values: FormValues | None = None,
    errors: FormErrors | None = None,
    draft: Draft | None = None,
    status: int = 200,
) -> HTMLResponse:
    incident = views.incident_page(session, settings, incident_id)
    update = next((u for u in incident.updates if u.id == update_id), None)
    if update is None:
        raise InvalidInput(f"update {update_id!r} is not part of incident {incident_id!r}")
    return render(
        request,
        "admin/update_edit.html",
        staff=staff,
        status=status,
        incident=incident,
        update=update,
        values=values or FormValues.of(body=update.body),
        errors=errors or FormErrors(),
        draft=draft,
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
    draft = take_draft(session, staff, request.url.path)
    values = draft.values if draft else None
    return _edit_page(
        request, session, settings, staff, incident_id, update_id, values, draft=draft
    )


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
    try:
        data = UpdateEdit.model_validate({"body": post.form.get("body")})
        service.edit_update(
            session, incident_id, update_id, data=data, actor=post.actor, now=clock()
        )
    except ValidationError as exc:
        errors = FormErrors.from_validation(exc)
        return _edit_page(
            request, session, settings, post.staff, incident_id, update_id, post.form, errors,
            status=422,
        )  # fmt: skip
    except PharosError as exc:
        session.rollback()
        return _edit_page(
            request, session, settings, post.staff, incident_id, update_id, post.form,
            FormErrors.from_domain(exc), status=exc.status_code,
        )  # fmt: skip
    return done(f"{PREFIX}/incidents/{incident_id}", "edited")

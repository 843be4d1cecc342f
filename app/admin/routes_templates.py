"""Incident templates (Statuspage's): saved names, messages, statuses and components."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.deps import (
    PREFIX,
    EditorPost,
    Viewer,
    done,
)
from app.admin.flow import FormState, attempt, kept, render_form
from app.admin.forms import FormValues
from app.clock import ClockDep
from app.db import SessionDep
from app.incidents import templates as incident_templates
from app.models import UserRole
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PER_PAGE = 100
ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in UserRole]


def _templates_page(
    request: Request, session: Session, staff: SignedIn, shown: FormState
) -> HTMLResponse:
    return render_form(
        request,
        "admin/templates.html",
        staff,
        shown,
        templates=incident_templates.list_templates(session),
        components=views.component_rows(session),
        incident_choices=views.INCIDENT_CHOICES,
        component_choices=views.COMPONENT_CHOICES,
    )


@router.get("/templates")
def template_list(request: Request, session: SessionDep, staff: Viewer) -> HTMLResponse:
    """Saved incident templates and the form to add one."""
    shown = kept(session, staff, request, FormValues.of(status="investigating"))
    return _templates_page(request, session, staff, shown)


@router.post("/templates")
def create_template(
    request: Request, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Save a new template."""
    form = post.form
    fields = {
        "name": form.get("name"),
        "title": form.get("title"),
        "body": form.get("body"),
        "status": form.get("status"),
        "components": form.with_prefix("component."),
    }
    outcome = attempt(
        session,
        form,
        lambda: incident_templates.create_template(
            session,
            data=incident_templates.TemplateCreate.model_validate(fields),
            actor=post.actor,
            now=clock(),
        ),
        field="name",
        prefix={"components": "component."},
    )
    if isinstance(outcome, FormState):
        return _templates_page(request, session, post.staff, outcome)
    return done(f"{PREFIX}/templates", "saved")


@router.post("/templates/{template_id}/delete")
def delete_template(
    template_id: str, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Delete a template."""
    incident_templates.delete_template(session, template_id, actor=post.actor, now=clock())
    return done(f"{PREFIX}/templates", "deleted")

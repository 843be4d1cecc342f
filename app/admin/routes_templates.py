"""Incident templates (Statuspage's): saved names, messages, statuses and components."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, EditorPost, Screen, Viewer, done
from app.admin.flow import FormState, form_page, kept, submit
from app.admin.forms import FormValues
from app.incidents import templates as incident_templates

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _templates_page(screen: Screen, shown: FormState) -> HTMLResponse:
    return form_page(
        screen, "admin/templates.html", shown, **views.template_pickers(screen.session)
    )


@router.get("/templates")
def template_list(screen: Viewer) -> HTMLResponse:
    """Saved incident templates and the form to add one."""
    return _templates_page(screen, kept(screen, FormValues.of(status="investigating")))


@router.post("/templates")
def create_template(post: EditorPost) -> Response:
    """Save a new template."""
    form = post.form
    fields = {
        "name": form.get("name"),
        "title": form.get("title"),
        "body": form.get("body"),
        "status": form.get("status"),
        "components": form.with_prefix("component."),
    }
    return submit(
        post,
        lambda: incident_templates.create_template(
            post.session,
            data=incident_templates.TemplateCreate.model_validate(fields),
            actor=post.actor,
            now=post.clock(),
        ),
        field="name",
        prefix={"components": "component."},
        page=lambda shown: _templates_page(post, shown),
        then=lambda _: done(f"{PREFIX}/templates", "saved"),
    )


@router.post("/templates/{template_id}/delete")
def delete_template(template_id: str, post: EditorPost) -> Response:
    """Delete a template."""
    incident_templates.delete_template(
        post.session, template_id, actor=post.actor, now=post.clock()
    )
    return done(f"{PREFIX}/templates", "deleted")

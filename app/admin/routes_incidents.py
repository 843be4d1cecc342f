"""Incidents: list, open (with templates), the staff incident page, updates, postmortems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Screen, Viewer, done
from app.admin.flow import FormState, form_page, kept, submit
from app.admin.forms import FormValues
from app.errors import InvalidInput, PharosError
from app.incidents import read, service
from app.incidents import templates as incident_templates
from app.incidents.schemas import IncidentCreate, UpdateCreate, UpdateEdit

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
def incident_list(screen: Viewer, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> HTMLResponse:
    """Every incident, newest first."""
    found = read.list_incidents(screen.session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return screen.render(
        "admin/incidents.html",
        incidents=views.incident_rows(screen.session, found, screen.settings.tz),
        page_number=page,
        has_more=page * PER_PAGE < read.count_incidents(screen.session),
    )


def _new_page(screen: Screen, shown: FormState) -> HTMLResponse:
    return form_page(
        screen, "admin/incident_new.html", shown, **views.template_pickers(screen.session)
    )


@router.get("/incidents/new")
def new_incident(screen: Editor, template: str = "") -> HTMLResponse:
    """The new-incident form, filled from a template when one is picked."""
    shown = kept(screen, FormValues.of(status="investigating", notify=True))
    if template and not shown.draft:
        t = incident_templates.get_template(screen.session, template)
        values = FormValues.of(
            name=t.title,
            status=t.status.value,
            body=t.body,
            notify=True,
            **{f"component.{k}": v for k, v in t.components.items()},
        )
        shown = FormState(values)
    return _new_page(screen, shown)


@router.post("/incidents/new")
def open_incident(post: EditorPost) -> Response:
    """Open the incident through the same service as the API."""
    return submit(
        post,
        lambda: service.open_incident(
            post.session,
            data=IncidentCreate.model_validate(
                {"name": post.form.get("name"), **_form_data(post.form)}
            ),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        field=_domain_field,
        prefix=COMPONENTS,
        page=lambda shown: _new_page(post, shown),
        then=lambda incident: done(f"{PREFIX}/incidents/{incident.id}", "opened"),
    )


def _incident_page(screen: Screen, incident_id: str, shown: FormState) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    next_status = incident.status if incident.is_open else "resolved"
    return form_page(
        screen,
        "admin/incident.html",
        shown,
        defaults=FormValues.of(status=next_status, notify=True),
        incident=incident,
        **views.incident_pickers(screen.session),
    )


@router.get("/incidents/{incident_id}")
def incident_page(incident_id: str, screen: Viewer) -> HTMLResponse:
    """The staff incident page: timeline and the post-update form."""
    return _incident_page(screen, incident_id, kept(screen))


@router.post("/incidents/{incident_id}/updates")
def post_update(incident_id: str, post: EditorPost) -> Response:
    """Post an update (status, message, component changes, notify), as the API does."""
    return submit(
        post,
        lambda: service.post_update(
            post.session,
            incident_id,
            data=UpdateCreate.model_validate(_form_data(post.form)),
            settings=post.settings,
            actor=post.actor,
            now=post.clock,
        ),
        field=_update_field,
        prefix=COMPONENTS,
        page=lambda shown: _incident_page(post, incident_id, shown),
        then=lambda _: done(f"{PREFIX}/incidents/{incident_id}", "posted"),
    )


def _edit_page(screen: Screen, incident_id: str, update_id: str, shown: FormState) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    update = next((u for u in incident.updates if u.id == update_id), None)
    if update is None:
        raise InvalidInput(f"update {update_id!r} is not part of incident {incident_id!r}")
    return form_page(
        screen,
        "admin/update_edit.html",
        shown,
        defaults=FormValues.of(body=update.body),
        incident=incident,
        update=update,
    )


@router.get("/incidents/{incident_id}/updates/{update_id}/edit")
def edit_update_form(incident_id: str, update_id: str, screen: Editor) -> HTMLResponse:
    """Fix the text of an earlier update."""
    return _edit_page(screen, incident_id, update_id, kept(screen))


@router.post("/incidents/{incident_id}/updates/{update_id}/edit")
def edit_update(incident_id: str, update_id: str, post: EditorPost) -> Response:
    """Save the corrected text (audited, as through the API)."""
    return submit(
        post,
        lambda: service.edit_update(
            post.session,
            incident_id,
            update_id,
            data=UpdateEdit.model_validate({"body": post.form.get("body")}),
            actor=post.actor,
            now=post.clock(),
        ),
        page=lambda shown: _edit_page(post, incident_id, update_id, shown),
        then=lambda _: done(f"{PREFIX}/incidents/{incident_id}", "edited"),
    )

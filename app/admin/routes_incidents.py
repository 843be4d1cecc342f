"""Incidents: list, open (with templates), the staff incident page, updates, postmortems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import (
    PREFIX,
    Admin,
    AdminPost,
    Editor,
    EditorPost,
    Posted,
    Screen,
    Viewer,
    done,
)
from app.admin.flow import FormState, confirmation, form_page, kept, submit
from app.admin.forms import FormErrors, FormValues, parse_local
from app.errors import InvalidInput, PharosError
from app.incidents import read, service
from app.incidents import templates as incident_templates
from app.incidents.schemas import IncidentCreate, IncidentEdit, UpdateCreate, UpdateEdit

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


def _new_page(screen: Screen, shown: FormState, **context: Any) -> HTMLResponse:
    return form_page(
        screen,
        "admin/incident_new.html",
        shown,
        **views.template_pickers(screen.session),
        **context,
    )


def _apply_template(
    values: FormValues, template_id: str, screen: Screen
) -> tuple[FormValues, list[str]]:
    """The form with a template applied to what is still empty; the fields it left alone
    because something was typed there."""
    t = incident_templates.get_template(screen.session, template_id)
    data = {k: list(v) for k, v in values.data.items()}
    kept_typed = []
    texts = {"name": ("Incident name", t.title), "body": ("Message", t.body)}
    for name, (label, text) in texts.items():
        if values.get(name).strip():
            if values.get(name).strip() != text.strip():
                kept_typed.append(label)
        else:
            data[name] = [text]
    data["status"] = [t.status.value]  # a choice, not typing: the template's status
    for component_id, status in t.components.items():
        if not values.get(f"component.{component_id}"):  # "No change" so far
            data[f"component.{component_id}"] = [status]
    data["template"] = [t.id]
    return FormValues(data), kept_typed


@router.get("/incidents/new")
def new_incident(screen: Editor, template: str = "") -> HTMLResponse:
    """The new-incident form; `?template=` fills it from a template (the templates page's Use)."""
    shown = kept(screen, FormValues.of(status="investigating", notify=True))
    if template and not shown.draft:
        values, _ = _apply_template(FormValues.of(notify=True), template, screen)
        shown = FormState(values)
    return _new_page(screen, shown)


@router.post("/incidents/new/template")
def apply_template(post: EditorPost) -> Response:
    """Apply the picked template to the form as typed so far: it fills what is still empty
    and never overwrites typing (works without JavaScript: the form posts here)."""
    picked = post.form.get("template")
    if not picked:
        errors = FormErrors(template="Choose a template to apply.")
        return _new_page(post, FormState(post.form, errors, status=422))
    values, kept_typed = _apply_template(post.form, picked, post)
    return _new_page(post, FormState(values), applied=True, kept_typed=kept_typed)


def _times(post: Posted, names: tuple[str, ...]) -> tuple[dict[str, object], FormErrors]:
    """Datetime-local fields (the page's time zone) that are filled in, and those unreadable."""
    times: dict[str, object] = {}
    errors = FormErrors()
    for name in names:
        try:
            value = parse_local(post.form.get(name), post.settings.tz)
        except ValueError as exc:
            errors[name] = str(exc).capitalize()
            continue
        if value is not None:
            times[name] = value
    return times, errors


def _new_field(exc: PharosError) -> str:
    for name in ("started_at", "display_at"):
        if name in exc.message:
            return name
    return _domain_field(exc)


@router.post("/incidents/new")
def open_incident(post: EditorPost) -> Response:
    """Open the incident through the same service as the API (back-dated if asked)."""
    times, errors = _times(post, ("started_at", "display_at"))
    fields = {
        "name": post.form.get("name"),
        **_form_data(post.form),
        **times,
        "backfilled": post.form.checked("backfilled"),
    }

    def page(shown: FormState) -> Response:
        shown.errors.update(errors)  # an unreadable time's own error wins
        return _new_page(post, shown)

    if errors:
        return page(FormState(post.form, status=422))
    return submit(
        post,
        lambda: service.open_incident(
            post.session,
            data=IncidentCreate.model_validate(fields),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        field=_new_field,
        prefix=COMPONENTS,
        page=page,
        then=lambda incident: done(f"{PREFIX}/incidents/{incident.id}", "opened"),
    )


def _incident_page(screen: Screen, incident_id: str, shown: FormState) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    next_status = incident.status if incident.is_open else "resolved"
    pickers = views.incident_pickers(screen.session)
    if not incident.is_open:  # a resolved incident only takes further resolved notes
        pickers["incident_choices"] = [c for c in pickers["incident_choices"] if c[0] == "resolved"]
    return form_page(
        screen,
        "admin/incident.html",
        shown,
        defaults=FormValues.of(status=next_status, notify=True),
        incident=incident,
        **pickers,
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


def _rename_page(screen: Screen, incident_id: str, shown: FormState) -> HTMLResponse:
    incident = read.get_incident(screen.session, incident_id)
    started = incident.started_at.astimezone(screen.settings.tz)
    return form_page(
        screen,
        "admin/incident_edit.html",
        shown,
        defaults=FormValues.of(
            name=incident.name, started_at=started.replace(tzinfo=None).isoformat("T", "minutes")
        ),
        incident=views.incident_page(screen.session, screen.settings, incident_id),
    )


@router.get("/incidents/{incident_id}/edit")
def rename_form(incident_id: str, screen: Admin) -> HTMLResponse:
    """Rename an incident or correct when it started."""
    return _rename_page(screen, incident_id, kept(screen))


@router.post("/incidents/{incident_id}/edit")
def rename(incident_id: str, post: AdminPost) -> Response:
    """Save the name and start (audited; subscribers are not told)."""
    times, errors = _times(post, ("started_at",))
    fields: dict[str, object] = {"name": post.form.get("name"), **times}

    def page(shown: FormState) -> Response:
        shown.errors.update(errors)
        return _rename_page(post, incident_id, shown)

    if errors:
        return page(FormState(post.form, status=422))
    return submit(
        post,
        lambda: service.change_incident(
            post.session,
            incident_id,
            data=IncidentEdit.model_validate(fields),
            actor=post.actor,
            now=post.clock(),
        ),
        field=lambda exc: "started_at" if "started_at" in exc.message else "_form",
        page=page,
        then=lambda _: done(f"{PREFIX}/incidents/{incident_id}", "renamed"),
    )


def _delete_update_page(
    screen: Screen, incident_id: str, update_id: str, refusal: FormState | None = None
) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    update = next((u for u in incident.updates if u.id == update_id), None)
    if update is None:
        raise InvalidInput(f"update {update_id!r} is not part of incident {incident_id!r}")
    return confirmation(
        screen, "admin/update_delete.html", refusal, incident=incident, update=update
    )


@router.get("/incidents/{incident_id}/updates/{update_id}/delete")
def delete_update_confirm(incident_id: str, update_id: str, screen: Admin) -> HTMLResponse:
    """Ask before deleting an update."""
    return _delete_update_page(screen, incident_id, update_id)


@router.post("/incidents/{incident_id}/updates/{update_id}/delete")
def delete_update(incident_id: str, update_id: str, post: AdminPost) -> Response:
    """Delete it (audited with its text; subscribers are not told)."""
    return submit(
        post,
        lambda: service.delete_update(
            post.session, incident_id, update_id, actor=post.actor, now=post.clock()
        ),
        page=lambda shown: _delete_update_page(post, incident_id, update_id, shown),
        then=lambda _: done(f"{PREFIX}/incidents/{incident_id}", "update_deleted"),
    )


def _delete_page(
    screen: Screen, incident_id: str, refusal: FormState | None = None
) -> HTMLResponse:
    incident = views.incident_page(screen.session, screen.settings, incident_id)
    return confirmation(screen, "admin/incident_delete.html", refusal, incident=incident)


@router.get("/incidents/{incident_id}/delete")
def delete_incident_confirm(incident_id: str, screen: Admin) -> HTMLResponse:
    """Ask before deleting an incident."""
    return _delete_page(screen, incident_id)


@router.post("/incidents/{incident_id}/delete")
def delete_incident(incident_id: str, post: AdminPost) -> Response:
    """Delete it with its timeline and postmortem (audited; subscribers are not told)."""
    return submit(
        post,
        lambda: service.delete_incident(
            post.session,
            incident_id,
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        page=lambda shown: _delete_page(post, incident_id, shown),
        then=lambda _: done(f"{PREFIX}/incidents", "deleted"),
    )

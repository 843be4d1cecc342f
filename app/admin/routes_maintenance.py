"""Scheduled maintenance: list, schedule (times in the page's zone), post updates."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app import labels
from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Screen, Viewer, done
from app.admin.flow import Confirmed, FormState, form_page, kept, submit
from app.admin.forms import FormErrors, FormValues, parse_local
from app.maintenance import service as maintenance
from app.maintenance.schemas import MAINTENANCE_STATUSES, MaintenanceCreate, MaintenanceUpdateCreate

router = APIRouter(prefix=PREFIX, include_in_schema=False)
MAINTENANCE_CHOICES = [(s.value, labels.incident_status(s)) for s in MAINTENANCE_STATUSES]


@router.get("/maintenance")
def maintenance_list(screen: Viewer) -> HTMLResponse:
    """Scheduled, running and past maintenance."""
    found = maintenance.list_maintenances(screen.session, limit=100)
    return screen.render(
        "admin/maintenances.html",
        maintenances=views.incident_rows(screen.session, found, screen.settings.tz),
        windows={m.id: screen.when(m.scheduled_for) for m in found},
    )


def _new_page(screen: Screen, shown: FormState) -> HTMLResponse:
    return form_page(
        screen,
        "admin/maintenance_new.html",
        shown,
        components=[c for c in views.component_rows(screen.session) if not c.is_group],
    )


@router.get("/maintenance/new")
def new_maintenance(screen: Editor) -> HTMLResponse:
    """The schedule-maintenance form (times in the page's time zone)."""
    return _new_page(screen, kept(screen, FormValues.of(notify=True)))


@router.post("/maintenance/new")
def schedule_maintenance(post: EditorPost) -> Response:
    """Schedule it through the maintenance service."""
    form, errors = post.form, FormErrors()
    times = {}
    for name in ("scheduled_for", "scheduled_until"):
        try:
            times[name] = parse_local(form.get(name), post.settings.tz)
        except ValueError as exc:
            errors[name] = str(exc).capitalize()
    fields = {
        "name": form.get("name"),
        "body": form.get("body"),
        **times,
        "component_ids": form.getlist("component_ids"),
        "deliver_notifications": form.checked("notify"),
    }

    def page(shown: FormState) -> Response:
        shown.errors.update(errors)  # the times' own errors win
        return _new_page(post, shown)

    # A time that can't be read is left out, so the schedule is refused as invalid below.
    return submit(
        post,
        lambda: maintenance.schedule_maintenance(
            post.session,
            data=MaintenanceCreate.model_validate(fields),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        page=page,
        then=lambda found: done(f"{PREFIX}/maintenance/{found.id}", "scheduled"),
    )


def _maintenance_page(screen: Screen, maintenance_id: str, shown: FormState) -> HTMLResponse:
    found = maintenance.get_maintenance(screen.session, maintenance_id)
    (row,) = views.incident_rows(screen.session, [found], screen.settings.tz)
    return form_page(
        screen,
        "admin/maintenance.html",
        shown,
        defaults=FormValues.of(status=found.status.value, notify=True),
        maintenance=row,
        window=f"{screen.when(found.scheduled_for)} - {screen.when(found.scheduled_until)}",
        choices=MAINTENANCE_CHOICES,
    )


@router.get("/maintenance/{maintenance_id}")
def maintenance_page(maintenance_id: str, screen: Viewer) -> HTMLResponse:
    """One maintenance: its window, timeline and the post-update form."""
    return _maintenance_page(screen, maintenance_id, kept(screen))


@router.post("/maintenance/{maintenance_id}/updates")
def post_maintenance_update(maintenance_id: str, post: EditorPost) -> Response:
    """Post a maintenance update (start, verify, complete, or a note)."""
    fields = {
        "status": post.form.get("status"),
        "body": post.form.get("body"),
        "deliver_notifications": post.form.checked("notify"),
    }
    return submit(
        post,
        lambda: maintenance.post_maintenance_update(
            post.session,
            maintenance_id,
            data=MaintenanceUpdateCreate.model_validate(fields),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        field="status",
        page=lambda shown: _maintenance_page(post, maintenance_id, shown),
        then=lambda _: done(f"{PREFIX}/maintenance/{maintenance_id}", "posted"),
    )


CANCEL = Confirmed(
    template="admin/maintenance_cancel.html",
    subject="maintenance",
    load=maintenance.get_maintenance,
    step=maintenance.cancel_maintenance,
    then=f"{PREFIX}/maintenance",
)


@router.get("/maintenance/{maintenance_id}/cancel")
def cancel_confirm(maintenance_id: str, screen: Editor) -> HTMLResponse:
    """Ask before cancelling a maintenance that has not started."""
    return CANCEL.page(screen, maintenance_id)


@router.post("/maintenance/{maintenance_id}/cancel")
def cancel(maintenance_id: str, post: EditorPost) -> Response:
    """Cancel (delete) it; refused once it has started."""
    return CANCEL.take(post, maintenance_id)

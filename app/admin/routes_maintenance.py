"""Scheduled maintenance: list, schedule (times in the page's zone), post updates."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app import labels
from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Viewer, done, render
from app.admin.flow import FormState, attempt, confirmation, kept, render_form
from app.admin.forms import FormErrors, FormValues, parse_local
from app.clock import ClockDep
from app.config import Settings, SettingsDep
from app.db import SessionDep
from app.maintenance import service as maintenance
from app.maintenance.schemas import MAINTENANCE_STATUSES, MaintenanceCreate, MaintenanceUpdateCreate
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)
MAINTENANCE_CHOICES = [(s.value, labels.incident_status(s)) for s in MAINTENANCE_STATUSES]


@router.get("/maintenance")
def maintenance_list(
    request: Request, session: SessionDep, settings: SettingsDep, staff: Viewer
) -> HTMLResponse:
    """Scheduled, running and past maintenance."""
    found = maintenance.list_maintenances(session, limit=100)
    return render(
        request,
        "admin/maintenances.html",
        staff=staff,
        maintenances=views.incident_rows(session, found, settings.tz),
        windows={m.id: views.when(m.scheduled_for, settings.tz) for m in found},
    )


def _maintenance_form(
    request: Request, session: Session, staff: SignedIn, shown: FormState
) -> HTMLResponse:
    return render_form(
        request,
        "admin/maintenance_new.html",
        staff,
        shown,
        components=[c for c in views.component_rows(session) if not c.is_group],
    )


@router.get("/maintenance/new")
def new_maintenance(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, staff: Editor
) -> HTMLResponse:
    """The schedule-maintenance form (times in the page's time zone)."""
    shown = kept(session, staff, request, FormValues.of(notify=True))
    return _maintenance_form(request, session, staff, shown)


@router.post("/maintenance/new")
def schedule_maintenance(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Schedule it through the maintenance service."""
    form, errors = post.form, FormErrors()
    times = {}
    for name in ("scheduled_for", "scheduled_until"):
        try:
            times[name] = parse_local(form.get(name), settings.tz)
        except ValueError as exc:
            errors[name] = str(exc).capitalize()
    fields = {
        "name": form.get("name"),
        "body": form.get("body"),
        **times,
        "component_ids": form.getlist("component_ids"),
        "deliver_notifications": form.checked("notify"),
    }

    # A time that can't be read is left out, so the schedule is refused as invalid below.
    outcome = attempt(
        session,
        form,
        lambda: maintenance.schedule_maintenance(
            session,
            data=MaintenanceCreate.model_validate(fields),
            settings=settings,
            actor=post.actor,
            now=clock(),
        ),
    )
    if isinstance(outcome, FormState):
        outcome.errors.update(errors)  # the times' own errors win
        return _maintenance_form(request, session, post.staff, outcome)
    return done(f"{PREFIX}/maintenance/{outcome.id}", "scheduled")


def _maintenance_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: SignedIn,
    maintenance_id: str,
    shown: FormState,
) -> HTMLResponse:
    found = maintenance.get_maintenance(session, maintenance_id)
    (row,) = views.incident_rows(session, [found], settings.tz)
    return render_form(
        request,
        "admin/maintenance.html",
        staff,
        shown,
        defaults=FormValues.of(status=found.status.value, notify=True),
        maintenance=row,
        window=f"{views.when(found.scheduled_for, settings.tz)} - "
        f"{views.when(found.scheduled_until, settings.tz)}",
        choices=MAINTENANCE_CHOICES,
    )


@router.get("/maintenance/{maintenance_id}")
def maintenance_page(
    maintenance_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: Viewer,
) -> HTMLResponse:
    """One maintenance: its window, timeline and the post-update form."""
    shown = kept(session, staff, request)
    return _maintenance_page(request, session, settings, staff, maintenance_id, shown)


@router.post("/maintenance/{maintenance_id}/updates")
def post_maintenance_update(
    maintenance_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Post a maintenance update (start, verify, complete, or a note)."""
    form = post.form
    fields = {
        "status": form.get("status"),
        "body": form.get("body"),
        "deliver_notifications": form.checked("notify"),
    }
    outcome = attempt(
        session,
        form,
        lambda: maintenance.post_maintenance_update(
            session,
            maintenance_id,
            data=MaintenanceUpdateCreate.model_validate(fields),
            settings=settings,
            actor=post.actor,
            now=clock(),
        ),
        field="status",
    )
    if isinstance(outcome, FormState):
        return _maintenance_page(request, session, settings, post.staff, maintenance_id, outcome)
    return done(f"{PREFIX}/maintenance/{maintenance_id}", "posted")


@router.get("/maintenance/{maintenance_id}/cancel")
def cancel_confirm(
    maintenance_id: str, request: Request, session: SessionDep, staff: Editor
) -> HTMLResponse:
    """Ask before cancelling a maintenance that has not started."""
    found = maintenance.get_maintenance(session, maintenance_id)
    return confirmation(request, "admin/maintenance_cancel.html", staff, maintenance=found)


@router.post("/maintenance/{maintenance_id}/cancel")
def cancel(
    maintenance_id: str, request: Request, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Cancel (delete) it; refused once it has started."""
    outcome = attempt(
        session,
        post.form,
        lambda: maintenance.cancel_maintenance(
            session, maintenance_id, actor=post.actor, now=clock()
        ),
    )
    if isinstance(outcome, FormState):
        found = maintenance.get_maintenance(session, maintenance_id)
        return confirmation(
            request, "admin/maintenance_cancel.html", post.staff, outcome, maintenance=found
        )
    return done(f"{PREFIX}/maintenance", "deleted")

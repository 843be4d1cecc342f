"""Components and groups: create, order, edit, delete (after a confirmation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Viewer, done, render
from app.admin.flow import FormState, attempt, confirmation, kept, render_form
from app.admin.forms import FormValues
from app.clock import ClockDep
from app.components import service as components
from app.components.schemas import ComponentCreate, ComponentUpdate
from app.config import SettingsDep
from app.db import SessionDep
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/components")
def component_list(request: Request, session: SessionDep, staff: Viewer) -> HTMLResponse:
    """Components in page order, with ordering buttons."""
    return render(
        request, "admin/components.html", staff=staff, components=views.component_rows(session)
    )


def _component_page(
    request: Request,
    session: Session,
    staff: SignedIn,
    shown: FormState,
    component_id: str | None = None,
) -> HTMLResponse:
    rows = views.component_rows(session)
    return render_form(
        request,
        "admin/component_form.html",
        staff,
        shown,
        component=next((c for c in rows if c.id == component_id), None),
        groups=[("", "No group")] + [(c.id, c.name) for c in rows if c.is_group],
        component_choices=views.COMPONENT_CHOICES,
    )


def _component_data(form: FormValues) -> dict[str, object]:
    return {
        "name": form.get("name"),
        "description": form.get("description").strip() or None,
        "group_id": form.get("group_id") or None,
        "showcase": form.checked("showcase"),
    }


@router.get("/components/new")
def new_component(request: Request, session: SessionDep, staff: Editor) -> HTMLResponse:
    """The new-component form."""
    shown = kept(session, staff, request, FormValues.of(status="operational", showcase=True))
    return _component_page(request, session, staff, shown)


@router.post("/components/new")
def create_component(
    request: Request, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Create a component or a group."""
    form = post.form
    fields = {**_component_data(form), "group": form.checked("group")}
    if form.get("status") and not form.checked("group"):  # a group's status is derived
        fields["status"] = form.get("status")
    outcome = attempt(
        session,
        form,
        lambda: components.create_component(
            session, data=ComponentCreate.model_validate(fields), actor=post.actor, now=clock()
        ),
        field=lambda exc: "group_id" if "group" in exc.message else "_form",
    )
    if isinstance(outcome, FormState):
        return _component_page(request, session, post.staff, outcome)
    return done(f"{PREFIX}/components", "saved")


@router.get("/components/{component_id}/edit")
def edit_component_form(
    component_id: str, request: Request, session: SessionDep, staff: Editor
) -> HTMLResponse:
    """Edit a component's name, description, group, status, showcase."""
    c = components.get_component(session, component_id)
    values = FormValues.of(
        name=c.name,
        description=c.description,
        group_id=c.group_id,
        status=c.status.value,
        showcase=c.showcase,
    )
    shown = kept(session, staff, request, values)
    return _component_page(request, session, staff, shown, component_id)


@router.post("/components/{component_id}/edit")
def edit_component(
    component_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    post: EditorPost,
) -> Response:
    """Save a component's changes."""
    form = post.form
    fields = _component_data(form)
    if form.get("status"):
        fields["status"] = form.get("status")
    outcome = attempt(
        session,
        form,
        lambda: components.update_component(
            session,
            component_id,
            data=ComponentUpdate.model_validate(fields),
            settings=settings,
            actor=post.actor,
            now=clock(),
        ),
    )
    if isinstance(outcome, FormState):
        return _component_page(request, session, post.staff, outcome, component_id)
    return done(f"{PREFIX}/components", "saved")


@router.post("/components/{component_id}/move")
def move_component(
    component_id: str, session: SessionDep, settings: SettingsDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Move a component one place up or down among its siblings."""
    c = components.get_component(session, component_id)
    step = -1 if post.form.get("direction") == "up" else 1
    data = ComponentUpdate(position=max(1, c.position + step))
    components.update_component(
        session, component_id, data=data, settings=settings, actor=post.actor, now=clock()
    )
    return done(f"{PREFIX}/components", "saved")


@router.get("/components/{component_id}/delete")
def delete_component_confirm(
    component_id: str, request: Request, session: SessionDep, staff: Editor
) -> HTMLResponse:
    """Ask before deleting."""
    c = components.get_component(session, component_id)
    return confirmation(request, "admin/component_delete.html", staff, component=c)


@router.post("/components/{component_id}/delete")
def delete_component(
    component_id: str, request: Request, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Delete after confirmation; refusals (open incident, non-empty group) are explained."""
    outcome = attempt(
        session,
        post.form,
        lambda: components.delete_component(session, component_id, actor=post.actor, now=clock()),
    )
    if isinstance(outcome, FormState):
        c = components.get_component(session, component_id)
        return confirmation(
            request, "admin/component_delete.html", post.staff, outcome, component=c
        )
    return done(f"{PREFIX}/components", "deleted")

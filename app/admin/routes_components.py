"""Components and groups: create, order, edit, delete (after a confirmation)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, Editor, EditorPost, Screen, Viewer, done
from app.admin.flow import Confirmed, FormState, form_page, kept, submit
from app.admin.forms import FormValues
from app.components import service as components
from app.components.schemas import ComponentCreate, ComponentUpdate

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/components")
def component_list(screen: Viewer) -> HTMLResponse:
    """Components in page order, with ordering buttons."""
    return screen.render("admin/components.html", components=views.component_rows(screen.session))


def _component_page(
    screen: Screen, shown: FormState, component_id: str | None = None
) -> HTMLResponse:
    rows = views.component_rows(screen.session)
    return form_page(
        screen,
        "admin/component_form.html",
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
def new_component(screen: Editor) -> HTMLResponse:
    """The new-component form."""
    return _component_page(screen, kept(screen, FormValues.of(status="operational", showcase=True)))


@router.post("/components/new")
def create_component(post: EditorPost) -> Response:
    """Create a component or a group."""
    form = post.form
    fields = {**_component_data(form), "group": form.checked("group")}
    if form.get("status") and not form.checked("group"):  # a group's status is derived
        fields["status"] = form.get("status")
    return submit(
        post,
        lambda: components.create_component(
            post.session,
            data=ComponentCreate.model_validate(fields),
            actor=post.actor,
            now=post.clock(),
        ),
        field=lambda exc: "group_id" if "group" in exc.message else "_form",
        page=lambda shown: _component_page(post, shown),
        then=lambda _: done(f"{PREFIX}/components", "saved"),
    )


@router.get("/components/{component_id}/edit")
def edit_component_form(component_id: str, screen: Editor) -> HTMLResponse:
    """Edit a component's name, description, group, status, showcase."""
    c = components.get_component(screen.session, component_id)
    values = FormValues.of(
        name=c.name,
        description=c.description,
        group_id=c.group_id,
        status=c.status.value,
        showcase=c.showcase,
    )
    return _component_page(screen, kept(screen, values), component_id)


@router.post("/components/{component_id}/edit")
def edit_component(component_id: str, post: EditorPost) -> Response:
    """Save a component's changes."""
    fields = _component_data(post.form)
    if post.form.get("status"):
        fields["status"] = post.form.get("status")
    return submit(
        post,
        lambda: components.update_component(
            post.session,
            component_id,
            data=ComponentUpdate.model_validate(fields),
            settings=post.settings,
            actor=post.actor,
            now=post.clock(),
        ),
        page=lambda shown: _component_page(post, shown, component_id),
        then=lambda _: done(f"{PREFIX}/components", "saved"),
    )


@router.post("/components/{component_id}/move")
def move_component(component_id: str, post: EditorPost) -> Response:
    """Move a component one place up or down among its siblings."""
    c = components.get_component(post.session, component_id)
    step = -1 if post.form.get("direction") == "up" else 1
    components.update_component(
        post.session,
        component_id,
        data=ComponentUpdate(position=max(1, c.position + step)),
        settings=post.settings,
        actor=post.actor,
        now=post.clock(),
    )
    return done(f"{PREFIX}/components", "saved")


DELETE = Confirmed(
    template="admin/component_delete.html",
    subject="component",
    load=components.get_component,
    step=components.delete_component,
    then=f"{PREFIX}/components",
)


@router.get("/components/{component_id}/delete")
def delete_component_confirm(component_id: str, screen: Editor) -> HTMLResponse:
    """Ask before deleting."""
    return DELETE.page(screen, component_id)


@router.post("/components/{component_id}/delete")
def delete_component(component_id: str, post: EditorPost) -> Response:
    """Delete after confirmation; refusals (open incident, non-empty group) are explained."""
    return DELETE.take(post, component_id)

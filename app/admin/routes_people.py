"""Subscribers and deliveries, incident templates, API tokens, users and the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.admin import views
from app.admin.deps import (
    PREFIX,
    Admin,
    AdminPost,
    EditorPost,
    Viewer,
    done,
    render,
    take_draft,
)
from app.admin.forms import FormErrors, FormValues, parse_local
from app.auth import service as tokens
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import NotFound, PharosError
from app.incidents import templates as incident_templates
from app.models import AuditEvent, UserRole
from app.subscribers import service as subscribers
from app.users import service as users
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PER_PAGE = 100
ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in UserRole]


@router.get("/subscribers")
def subscriber_list(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, staff: Viewer
) -> HTMLResponse:
    """Webhook subscribers, quarantined ones first."""
    return render(
        request,
        "admin/subscribers.html",
        staff=staff,
        subscribers=subscribers.list_subscribers(session),
        health=views.delivery_health(session, now=clock(), tz=settings.tz),
        when=lambda t: views.when(t, settings.tz),
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(
    subscriber_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: Viewer,
) -> HTMLResponse:
    """One subscriber and its delivery log, every attempt."""
    return render(
        request,
        "admin/subscriber.html",
        staff=staff,
        subscriber=subscribers.get_subscriber(session, subscriber_id),
        deliveries=subscribers.deliveries_of(session, subscriber_id, limit=100),
        when=lambda t: views.when(t, settings.tz),
    )


@router.post("/subscribers/{subscriber_id}/reactivate")
def reactivate(
    subscriber_id: str, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Send to the subscriber again; held deliveries go out now."""
    subscribers.reactivate(session, subscriber_id, actor=post.actor, now=clock())
    return done(post.back, "reactivated")


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: str, session: SessionDep, clock: ClockDep, post: EditorPost) -> Response:
    """Send one delivery again (same webhook-id)."""
    subscribers.redeliver(session, delivery_id, actor=post.actor, now=clock())
    return done(post.back, "redelivered")


# --- incident templates ---


def _templates_page(
    request: Request,
    session: Session,
    staff: SignedIn,
    values: FormValues,
    errors: FormErrors | None = None,
    status: int = 200,
    draft: object = None,
) -> HTMLResponse:
    return render(
        request,
        "admin/templates.html",
        staff=staff,
        status=status,
        values=values,
        errors=errors or FormErrors(),
        draft=draft,
        templates=incident_templates.list_templates(session),
        components=views.component_rows(session),
        incident_choices=views.INCIDENT_CHOICES,
        component_choices=views.COMPONENT_CHOICES,
    )


@router.get("/templates")
def template_list(request: Request, session: SessionDep, staff: Viewer) -> HTMLResponse:
    """Saved incident templates and the form to add one."""
    draft = take_draft(session, staff, request.url.path)
    values = draft.values if draft else FormValues.of(status="investigating")
    return _templates_page(request, session, staff, values, draft=draft)


@router.post("/templates")
def create_template(
    request: Request, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Save a new template."""
    form = post.form
    try:
        data = incident_templates.TemplateCreate.model_validate(
            {
                "name": form.get("name"),
                "title": form.get("title"),
                "body": form.get("body"),
                "status": form.get("status"),
                "components": form.with_prefix("component."),
            }
        )
        incident_templates.create_template(session, data=data, actor=post.actor, now=clock())
    except ValidationError as exc:
        errors = FormErrors.from_validation(exc, prefix={"components": "component."})
        return _templates_page(request, session, post.staff, form, errors, status=422)
    except PharosError as exc:
        session.rollback()
        errors = FormErrors.from_domain(exc, "name")
        return _templates_page(request, session, post.staff, form, errors, exc.status_code)
    return done(f"{PREFIX}/templates", "saved")


@router.post("/templates/{template_id}/delete")
def delete_template(
    template_id: str, session: SessionDep, clock: ClockDep, post: EditorPost
) -> Response:
    """Delete a template."""
    incident_templates.delete_template(session, template_id, actor=post.actor, now=clock())
    return done(f"{PREFIX}/templates", "deleted")


# --- API tokens (admins) ---


def _tokens_page(
    request: Request,
    session: Session,
    staff: SignedIn,
    values: FormValues,
    errors: FormErrors | None = None,
    created: str | None = None,
    status: int = 200,
    when: object = None,
) -> HTMLResponse:
    return render(
        request,
        "admin/tokens.html",
        staff=staff,
        status=status,
        values=values,
        errors=errors or FormErrors(),
        tokens=tokens.list_tokens(session),
        created=created,
        when=when,
    )


@router.get("/tokens")
def token_list(
    request: Request, session: SessionDep, settings: SettingsDep, staff: Admin
) -> HTMLResponse:
    """Staff API tokens (never their values)."""
    return _tokens_page(
        request,
        session,
        staff,
        FormValues.of(scope="write"),
        when=lambda t: views.when(t, settings.tz),
    )


@router.post("/tokens")
def create_token(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, post: AdminPost
) -> Response:
    """Create a token and show it this once."""
    form = post.form
    try:
        _, plain = tokens.create_token(
            session,
            name=form.get("name"),
            scope=form.get("scope"),
            actor=post.actor,
            now=clock(),
        )
    except ValueError as exc:
        field = "scope" if "scope" in str(exc) else "name"
        errors = FormErrors({field: str(exc).capitalize()})
        return _tokens_page(
            request, session, post.staff, form, errors, status=422,
            when=lambda t: views.when(t, settings.tz),
        )  # fmt: skip
    return _tokens_page(
        request,
        session,
        post.staff,
        FormValues.of(scope="write"),
        created=plain,
        when=lambda t: views.when(t, settings.tz),
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, session: SessionDep, clock: ClockDep, post: AdminPost) -> Response:
    """Revoke a token."""
    if tokens.revoke_token(session, token_id=token_id, now=clock(), actor=post.actor) is None:
        raise NotFound(f"token {token_id} does not exist")
    return done(f"{PREFIX}/tokens", "revoked")


# --- users (admins) ---


def _users_page(
    request: Request,
    session: Session,
    staff: SignedIn,
    values: FormValues,
    errors: FormErrors | None = None,
    created: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin/users.html",
        staff=staff,
        status=status,
        values=values,
        errors=errors or FormErrors(),
        users=users.list_users(session),
        created=created,
        role_choices=ROLE_CHOICES,
    )


@router.get("/users")
def user_list(request: Request, session: SessionDep, staff: Admin) -> HTMLResponse:
    """Users, their roles, and the form to add one."""
    return _users_page(request, session, staff, FormValues.of(role="editor"))


@router.post("/users")
def create_user(
    request: Request, session: SessionDep, clock: ClockDep, post: AdminPost
) -> Response:
    """Add a user with a one-time password shown once."""
    form = post.form
    password = users.new_password()
    try:
        role = UserRole(form.get("role"))
    except ValueError:
        errors = FormErrors({"role": "Pick admin, editor or viewer."})
        return _users_page(request, session, post.staff, form, errors, status=422)
    try:
        user = users.create_user(
            session,
            email=form.get("email"),
            role=role,
            password=password,
            actor=post.actor,
            now=clock(),
        )
    except PharosError as exc:
        session.rollback()
        errors = FormErrors.from_domain(exc, "email")
        return _users_page(request, session, post.staff, form, errors, status=exc.status_code)
    return _users_page(
        request, session, post.staff, FormValues.of(role="editor"), created=(user.email, password)
    )


@router.post("/users/{user_id}")
def change_user(
    user_id: str, request: Request, session: SessionDep, clock: ClockDep, post: AdminPost
) -> Response:
    """Change a user's role, or disable / enable it."""
    form = post.form
    try:
        users.change_user(
            session,
            user_id,
            role=UserRole(form.get("role")),
            disabled=form.checked("disabled"),
            actor=post.actor,
            now=clock(),
        )
    except ValueError:
        errors = FormErrors({"_form": "Pick admin, editor or viewer."})
        return _users_page(request, session, post.staff, FormValues(), errors, status=422)
    except PharosError as exc:
        session.rollback()
        errors = FormErrors.from_domain(exc)
        return _users_page(
            request, session, post.staff, FormValues(), errors, status=exc.status_code
        )
    return done(f"{PREFIX}/users", "saved")


# --- audit log ---


@router.get("/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: Viewer,
    actor: Annotated[str, Query(max_length=255)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Who did what, when and from where; filter by actor, action, object and date."""
    errors = FormErrors()
    stmt = select(AuditEvent)
    if actor.strip():
        stmt = stmt.where(col(AuditEvent.actor).contains(actor.strip()))
    if action.strip():
        stmt = stmt.where(col(AuditEvent.action).startswith(action.strip()))
    if object_id.strip():
        stmt = stmt.where(AuditEvent.object_id == object_id.strip())
    try:
        start = parse_local(since, settings.tz)
    except ValueError as exc:
        errors["since"] = str(exc).capitalize()
        start = None
    if start is not None:
        stmt = stmt.where(col(AuditEvent.at) >= start)
    found = list(
        session.exec(
            stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            .offset((page - 1) * AUDIT_PER_PAGE)
            .limit(AUDIT_PER_PAGE + 1)
        )
    )
    actions = sorted(session.exec(select(AuditEvent.action).distinct()).all())
    return render(
        request,
        "admin/audit.html",
        staff=staff,
        events=found[:AUDIT_PER_PAGE],
        has_more=len(found) > AUDIT_PER_PAGE,
        page_number=page,
        actions=actions,
        values=FormValues.of(actor=actor, action=action, object_id=object_id, since=since),
        errors=errors,
        when=lambda t: views.when(t, settings.tz),
        query=urlencode({"actor": actor, "action": action, "object_id": object_id, "since": since}),
    )

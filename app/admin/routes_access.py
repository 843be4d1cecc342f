"""Who may do what: API tokens and users (admins only), and one's own password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.deps import (
    PREFIX,
    Admin,
    AdminPost,
    Viewer,
    ViewerPost,
    done,
    render,
)
from app.admin.flow import FormState, attempt
from app.admin.forms import FormErrors, FormValues
from app.auth import service as tokens
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.errors import NotFound
from app.models import UserRole
from app.users import service as users
from app.users.sessions import SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PER_PAGE = 100
ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in UserRole]


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
    outcome = attempt(
        session,
        form,
        lambda: users.create_user(
            session,
            email=form.get("email"),
            role=role,
            password=password,
            actor=post.actor,
            now=clock(),
        ),
        field="email",
    )
    if isinstance(outcome, FormState):
        return _users_page(
            request, session, post.staff, form, outcome.errors, status=outcome.status
        )
    user = outcome
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
        role = UserRole(form.get("role"))
    except ValueError:
        errors = FormErrors({"_form": "Pick admin, editor or viewer."})
        return _users_page(request, session, post.staff, FormValues(), errors, status=422)
    outcome = attempt(
        session,
        form,
        lambda: users.change_user(
            session,
            user_id,
            role=role,
            disabled=form.checked("disabled"),
            actor=post.actor,
            now=clock(),
        ),
    )
    if isinstance(outcome, FormState):
        return _users_page(
            request, session, post.staff, FormValues(), outcome.errors, status=outcome.status
        )
    return done(f"{PREFIX}/users", "saved")


@router.post("/users/{user_id}/password")
def reset_password(
    user_id: str, request: Request, session: SessionDep, clock: ClockDep, post: AdminPost
) -> Response:
    """Give a user a new one-time password (shown once); their sessions end."""
    password = users.new_password()
    user = users.set_password(session, user_id, password=password, actor=post.actor, now=clock())
    return _users_page(
        request, session, post.staff, FormValues.of(role="editor"), created=(user.email, password)
    )


def _account_page(
    request: Request, staff: SignedIn, errors: FormErrors | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request, "admin/account.html", staff=staff, status=status, errors=errors or FormErrors()
    )


@router.get("/account")
def account(request: Request, staff: Viewer) -> HTMLResponse:
    """Change one's own password."""
    return _account_page(request, staff)


@router.post("/account")
def change_password(
    request: Request, session: SessionDep, clock: ClockDep, post: ViewerPost
) -> Response:
    """Check the current password, set the new one; other sessions of the user end."""
    form, user = post.form, post.staff.user
    errors = FormErrors()
    if not users.verify_password(user, form.get("password")):
        errors["password"] = "That is not your current password."  # noqa: S105
    elif form.get("new_password") != form.get("confirm_password"):
        errors["confirm_password"] = "The two new passwords differ."  # noqa: S105
    else:
        outcome = attempt(
            session,
            form,
            lambda: users.set_password(
                session,
                user.id,
                password=form.get("new_password"),
                actor=post.actor,
                now=clock(),
                keep_session=post.staff.session.id,
            ),
            field="new_password",
        )
        if isinstance(outcome, FormState):
            errors = outcome.errors
    if errors:
        return _account_page(request, post.staff, errors, status=422)
    return done(f"{PREFIX}/account", "password")

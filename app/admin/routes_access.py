"""Who may do what: API tokens and users (admins only), and one's own password."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.admin.deps import PREFIX, Admin, AdminPost, Screen, Viewer, ViewerPost, done
from app.admin.flow import FormState, form_page, submit
from app.admin.forms import FormErrors, FormValues
from app.auth import service as tokens
from app.errors import NotFound
from app.models import UserRole
from app.users import service as users

router = APIRouter(prefix=PREFIX, include_in_schema=False)
ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in UserRole]


def _tokens_page(screen: Screen, shown: FormState, created: str | None = None) -> HTMLResponse:
    return form_page(
        screen,
        "admin/tokens.html",
        shown,
        defaults=FormValues.of(scope="write"),
        tokens=tokens.list_tokens(screen.session),
        created=created,
        when=screen.when,
    )


@router.get("/tokens")
def token_list(screen: Admin) -> HTMLResponse:
    """Staff API tokens (never their values)."""
    return _tokens_page(screen, FormState())


@router.post("/tokens")
def create_token(post: AdminPost) -> Response:
    """Create a token and show it this once."""
    form = post.form
    try:
        _, plain = tokens.create_token(
            post.session,
            name=form.get("name"),
            scope=form.get("scope"),
            actor=post.actor,
            now=post.clock(),
        )
    except ValueError as exc:
        field = "scope" if "scope" in str(exc) else "name"
        errors = FormErrors({field: str(exc).capitalize()})
        return _tokens_page(post, FormState(form, errors, status=422))
    return _tokens_page(post, FormState(), created=plain)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, post: AdminPost) -> Response:
    """Revoke a token."""
    if (
        tokens.revoke_token(post.session, token_id=token_id, now=post.clock(), actor=post.actor)
        is None
    ):
        raise NotFound(f"token {token_id} does not exist")
    return done(f"{PREFIX}/tokens", "revoked")


def _users_page(
    screen: Screen, shown: FormState, created: tuple[str, str] | None = None
) -> HTMLResponse:
    return form_page(
        screen,
        "admin/users.html",
        shown,
        defaults=FormValues.of(role="editor"),
        users=users.list_users(screen.session),
        created=created,
        role_choices=ROLE_CHOICES,
    )


def _role(form: FormValues) -> UserRole | None:
    """The role picked on the form; None when it is none of them."""
    return next((r for r in UserRole if r.value == form.get("role")), None)


def _no_role(values: FormValues, field: str) -> FormState:
    """The users page answering a role that is none of them."""
    return FormState(values, FormErrors({field: "Pick admin, editor or viewer."}), status=422)


@router.get("/users")
def user_list(screen: Admin) -> HTMLResponse:
    """Users, their roles, and the form to add one."""
    return _users_page(screen, FormState())


@router.post("/users")
def create_user(post: AdminPost) -> Response:
    """Add a user with a one-time password shown once."""
    password = users.new_password()
    role = _role(post.form)
    if role is None:
        return _users_page(post, _no_role(post.form, "role"))
    return submit(
        post,
        lambda: users.create_user(
            post.session,
            email=post.form.get("email"),
            role=role,
            password=password,
            actor=post.actor,
            now=post.clock(),
        ),
        field="email",
        page=lambda shown: _users_page(post, shown),
        then=lambda user: _users_page(post, FormState(), created=(user.email, password)),
    )


@router.post("/users/{user_id}")
def change_user(user_id: str, post: AdminPost) -> Response:
    """Change a user's role, or disable / enable it."""
    role = _role(post.form)
    if role is None:
        return _users_page(post, _no_role(FormValues(), "_form"))
    return submit(
        post,
        lambda: users.change_user(
            post.session,
            user_id,
            role=role,
            disabled=post.form.checked("disabled"),
            actor=post.actor,
            now=post.clock(),
        ),
        # The add-user form below stays empty, not filled from the changed row.
        page=lambda shown: _users_page(post, replace(shown, values=FormValues())),
        then=lambda _: done(f"{PREFIX}/users", "saved"),
    )


@router.post("/users/{user_id}/password")
def reset_password(user_id: str, post: AdminPost) -> Response:
    """Give a user a new one-time password (shown once); their sessions end."""
    password = users.new_password()
    user = users.set_password(
        post.session, user_id, password=password, actor=post.actor, now=post.clock()
    )
    return _users_page(post, FormState(), created=(user.email, password))


def _account_page(screen: Screen, errors: FormErrors | None = None) -> HTMLResponse:
    return screen.render(
        "admin/account.html", status=422 if errors else 200, errors=errors or FormErrors()
    )


@router.get("/account")
def account(screen: Viewer) -> HTMLResponse:
    """Change one's own password."""
    return _account_page(screen)


@router.post("/account")
def change_password(post: ViewerPost) -> Response:
    """Check the current password, set the new one; other sessions of the user end."""
    form, user = post.form, post.staff.user
    errors = FormErrors()
    if not users.verify_password(user, form.get("password")):
        errors["password"] = "That is not your current password."  # noqa: S105
    elif form.get("new_password") != form.get("confirm_password"):
        errors["confirm_password"] = "The two new passwords differ."  # noqa: S105
    if errors:
        return _account_page(post, errors)
    return submit(
        post,
        lambda: users.set_password(
            post.session,
            user.id,
            password=form.get("new_password"),
            actor=post.actor,
            now=post.clock(),
            keep_session=post.staff.session.id,
        ),
        field="new_password",
        page=lambda shown: _account_page(post, shown.errors),
        then=lambda _: done(f"{PREFIX}/account", "password"),
    )

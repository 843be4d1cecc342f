"""Who is signed in, role checks, CSRF, and rendering admin pages.

Handlers receive a Screen (request, the request's unit of work, settings, clock, the signed-in
user) from a role dependency (Viewer, Editor, Admin), or a Posted (a Screen plus the checked form)
from a post dependency (ViewerPost, EditorPost, AdminPost).

A POST whose CSRF token is stale keeps the typed form as a draft in the session and sends the
browser back to the form's page, which shows it again; a POST after the session expired shows
the sign-in page carrying the form, and signing in puts it back on its page the same way.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.admin import views
from app.admin.forms import FormErrors, FormValues
from app.brand import current_from
from app.clock import Clock, ClockDep
from app.config import Settings, SettingsDep
from app.db import SessionDep, read_session, unit_of_work
from app.errors import EarlyAnswer
from app.models import UserRole
from app.page import page_info
from app.users import sessions
from app.users.sessions import SignedIn

COOKIE = "pharos_admin"
LOGIN_COOKIE = "pharos_admin_login"  # double-submit token of the sign-in form
PREFIX = "/admin"
RANK = {UserRole.viewer: 0, UserRole.editor: 1, UserRole.admin: 2}
NOTICES = {
    "signed_out": "You are signed out.",
    "opened": "Incident opened.",
    "posted": "Update posted.",
    "edited": "Update changed.",
    "renamed": "Incident changed.",
    "update_deleted": "Update deleted.",
    "saved": "Saved.",
    "paused": "Probe paused: it doesn't run until resumed.",
    "resumed": "Probe resumed.",
    "ran": "Probe run: its result is the newest below.",
    "published": "Postmortem published.",
    "unpublished": "Postmortem unpublished.",
    "deleted": "Deleted.",
    "reactivated": "Subscriber reactivated; held deliveries go out now.",
    "redelivered": "Delivery queued again.",
    "revoked": "Token revoked.",
    "scheduled": "Maintenance scheduled.",
    "password": "Password changed. Your other sessions are signed out.",
}


class AdminResponse(EarlyAnswer):
    """Stop handling the request and answer with this response (redirects, refusals)."""

    def __init__(self, response: Response, *, keep_writes: bool = False) -> None:
        super().__init__(keep_writes=keep_writes)
        self.response = response


def client_ip(request: Request) -> str:
    """The client's address (uvicorn already applied trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


def secure_cookies(settings: Settings) -> bool:
    """Cookies carry Secure when the page is served over https."""
    return settings.public_url.startswith("https://")


def safe_back(value: str | None, default: str) -> str:
    """A path inside the admin UI to go back to (never another site)."""
    unsafe = ("//", "\\", "/..")
    if value and value.startswith(PREFIX + "/") and not any(u in value for u in unsafe):
        return value
    return default


def render(
    request: Request,
    template: str,
    *,
    staff: SignedIn | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """An admin page; never cached, since it is one user's view."""
    settings: Settings = request.app.state.settings
    context.setdefault(
        "page", page_info(settings, current_from(request.app.state.engine, settings))
    )
    context.setdefault("errors", FormErrors())
    context.setdefault("values", FormValues())
    context["staff"] = staff
    context["csrf"] = staff.session.csrf_token if staff else ""
    context["here"] = request.url.path
    context["notice"] = NOTICES.get(request.query_params.get("done", ""))
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_in_page(
    request: Request,
    *,
    next_path: str,
    status: int = 200,
    message: str | None = None,
    email: str = "",
    carry: str = "",
) -> HTMLResponse:
    """The sign-in form, with a fresh double-submit token in a cookie and the form."""
    settings: Settings = request.app.state.settings
    token = secrets.token_urlsafe(24)
    form = {"login_token": token, "next_path": next_path, "email": email, "carry": carry}
    response = render(
        request, "admin/login.html", staff=None, status=status, message=message, **form
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )
    return response


def current_staff(request: Request, clock: ClockDep) -> SignedIn | None:
    """The signed-in user of this request, or None.

    Read on a read-only session, the visit written (at most once a minute) in a short
    transaction of its own: the request's transaction opens only when its handler first
    writes, so one that waits on the network first (a probe run now) holds no lock meanwhile.
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    engine = request.app.state.engine
    now = clock()
    with read_session(engine) as reading:
        found = sessions.find_session(reading, token=token, now=now)
    if found is not None and sessions.seen_is_news(found, now=now):
        with unit_of_work(engine) as writing:
            sessions.note_seen(writing, found, settings=request.app.state.settings, now=now)
    return found


MaybeStaff = Annotated[SignedIn | None, Depends(current_staff)]


@dataclass(frozen=True)
class Screen:
    """What an admin handler works with: the request, its unit of work, settings, clock, user."""

    request: Request
    session: Session
    settings: Settings
    clock: Clock
    staff: SignedIn

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """This user's admin page from `template` (see render)."""
        return render(self.request, template, staff=self.staff, status=status, **context)

    def when(self, value: datetime | None) -> str:
        """A time in the page's zone, for the templates' tables."""
        return views.when(value, self.settings.tz)


@dataclass(frozen=True)
class Posted(Screen):
    """A checked form post: the screen it came from, what was sent, and where it goes back to."""

    form: FormValues
    back: str

    @property
    def actor(self) -> str:
        """The audit log's name of the sender."""
        return self.staff.actor


def current_screen(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, staff: MaybeStaff
) -> Screen | None:
    """The signed-in user's screen, or None when nobody is signed in."""
    return None if staff is None else Screen(request, session, settings, clock, staff)


MaybeScreen = Annotated[Screen | None, Depends(current_screen)]


def _forbidden(screen: Screen, role: UserRole) -> AdminResponse:
    role_now = screen.staff.user.role.value
    return AdminResponse(
        screen.render(
            "admin/message.html",
            status=403,
            title="Not allowed",
            message=f"This needs the {role.value} role; you are signed in as {role_now}.",
        )
    )


def signed_in(role: UserRole) -> Callable[..., Screen]:
    """A dependency for pages: the user, at least of this role, or a redirect to sign in."""

    def dependency(request: Request, screen: MaybeScreen) -> Screen:
        if screen is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise AdminResponse(
                RedirectResponse(f"{PREFIX}/login?next={quote(here, safe='')}", status_code=303)
            )
        if RANK[screen.staff.user.role] < RANK[role]:
            raise _forbidden(screen, role)
        return screen

    return dependency


Viewer = Annotated[Screen, Depends(signed_in(UserRole.viewer))]
Editor = Annotated[Screen, Depends(signed_in(UserRole.editor))]
Admin = Annotated[Screen, Depends(signed_in(UserRole.admin))]


async def read_form(request: Request) -> FormValues:
    """The posted form's fields (urlencoded or multipart, text only)."""
    form = await request.form()
    return FormValues({k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form})


FormDep = Annotated[FormValues, Depends(read_form)]


def posted(role: UserRole) -> Callable[..., Posted]:
    """A dependency for form posts: signed in, CSRF token right, role enough."""

    def dependency(request: Request, screen: MaybeScreen, form: FormDep) -> Posted:
        back = safe_back(form.get("_back"), request.url.path)
        if screen is None:
            carry = json.dumps(form.kept()) if form.get("_form") else ""
            raise AdminResponse(
                sign_in_page(
                    request,
                    next_path=back,
                    status=401,
                    message="Your session has ended. Sign in again"
                    + ("; what you typed is kept." if carry else "."),
                    carry=carry,
                )
            )
        if not hmac.compare_digest(form.get("csrf_token"), screen.staff.session.csrf_token):
            keep_draft(screen, back, form, reason="stale")
            raise AdminResponse(RedirectResponse(back, status_code=303), keep_writes=True)
        if RANK[screen.staff.user.role] < RANK[role]:
            raise _forbidden(screen, role)
        return Posted(
            screen.request, screen.session, screen.settings, screen.clock, screen.staff, form, back
        )

    return dependency


ViewerPost = Annotated[Posted, Depends(posted(UserRole.viewer))]
EditorPost = Annotated[Posted, Depends(posted(UserRole.editor))]
AdminPost = Annotated[Posted, Depends(posted(UserRole.admin))]


def keep_draft(screen: Screen, path: str, form: FormValues, *, reason: str) -> None:
    """Keep a refused form in the session, for its page to show again."""
    draft = {"path": path, "fields": form.kept(), "reason": reason}
    sessions.keep_draft(screen.session, screen.staff, draft)


def done(path: str, notice: str) -> RedirectResponse:
    """After a successful post: back to a page, with a notice."""
    return RedirectResponse(f"{path}?done={notice}", status_code=303)

"""Who is signed in, role checks, CSRF, and rendering admin pages.

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
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.admin.forms import FormErrors, FormValues
from app.clock import ClockDep
from app.config import Settings
from app.db import SessionDep
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
    "saved": "Saved.",
    "published": "Postmortem published.",
    "unpublished": "Postmortem unpublished.",
    "deleted": "Deleted.",
    "reactivated": "Subscriber reactivated; held deliveries go out now.",
    "redelivered": "Delivery queued again.",
    "revoked": "Token revoked.",
    "scheduled": "Maintenance scheduled.",
    "password": "Password changed. Your other sessions are signed out.",
}
DRAFT_REASONS = {
    "stale": "Your form was not sent: the page had expired. Check it and send it again.",
    "expired": "You are signed in again. Your form was not sent yet: check it and send it.",
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
    context.setdefault("page", page_info(settings))
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
    response = render(
        request,
        "admin/login.html",
        staff=None,
        status=status,
        login_token=token,
        next_path=next_path,
        message=message,
        email=email,
        carry=carry,
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


def current_staff(request: Request, session: SessionDep, clock: ClockDep) -> SignedIn | None:
    """The signed-in user of this request, or None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return sessions.load_session(
        session, token=token, settings=request.app.state.settings, now=clock()
    )


MaybeStaff = Annotated[SignedIn | None, Depends(current_staff)]


def _forbidden(request: Request, staff: SignedIn, role: UserRole) -> AdminResponse:
    return AdminResponse(
        render(
            request,
            "admin/message.html",
            staff=staff,
            status=403,
            title="Not allowed",
            message=f"This needs the {role.value} role; you are signed in as "
            f"{staff.user.role.value}.",
        )
    )


def signed_in(role: UserRole) -> Callable[..., SignedIn]:
    """A dependency for pages: the user, at least of this role, or a redirect to sign in."""

    def dependency(request: Request, staff: MaybeStaff) -> SignedIn:
        if staff is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise AdminResponse(
                RedirectResponse(f"{PREFIX}/login?next={quote(here, safe='')}", status_code=303)
            )
        if RANK[staff.user.role] < RANK[role]:
            raise _forbidden(request, staff, role)
        return staff

    return dependency


Viewer = Annotated[SignedIn, Depends(signed_in(UserRole.viewer))]
Editor = Annotated[SignedIn, Depends(signed_in(UserRole.editor))]
Admin = Annotated[SignedIn, Depends(signed_in(UserRole.admin))]


async def read_form(request: Request) -> FormValues:
    """The posted form's fields (urlencoded or multipart, text only)."""
    form = await request.form()
    return FormValues({k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form})


@dataclass(frozen=True)
class Posted:
    """A checked form post: who sent it and what."""

    staff: SignedIn
    form: FormValues
    back: str

    @property
    def actor(self) -> str:
        """The audit log's name of the sender."""
        return self.staff.actor


def posted(role: UserRole) -> Callable[..., Posted]:
    """A dependency for form posts: signed in, CSRF token right, role enough."""

    def dependency(
        request: Request,
        session: SessionDep,
        staff: MaybeStaff,
        form: Annotated[FormValues, Depends(read_form)],
    ) -> Posted:
        back = safe_back(form.get("_back"), request.url.path)
        if staff is None:
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
        if not hmac.compare_digest(form.get("csrf_token"), staff.session.csrf_token):
            keep_draft(session, staff, back, form, reason="stale")
            raise AdminResponse(RedirectResponse(back, status_code=303), keep_writes=True)
        if RANK[staff.user.role] < RANK[role]:
            raise _forbidden(request, staff, role)
        return Posted(staff=staff, form=form, back=back)

    return dependency


ViewerPost = Annotated[Posted, Depends(posted(UserRole.viewer))]
EditorPost = Annotated[Posted, Depends(posted(UserRole.editor))]
AdminPost = Annotated[Posted, Depends(posted(UserRole.admin))]


def keep_draft(
    session: Session, staff: SignedIn, path: str, form: FormValues, *, reason: str
) -> None:
    """Keep a refused form in the session, for its page to show again."""
    sessions.keep_draft(session, staff, {"path": path, "fields": form.kept(), "reason": reason})


@dataclass(frozen=True)
class Draft:
    """A refused form to show again, with why it was refused."""

    form: str
    values: FormValues
    message: str


def take_draft(session: Session, staff: SignedIn, path: str) -> Draft | None:
    """The draft kept for this page, if any (forgotten once taken)."""
    draft = staff.session.draft
    if not draft or draft.get("path") != path:
        return None
    sessions.keep_draft(session, staff, None)
    values = FormValues(draft.get("fields") or {})
    return Draft(
        form=values.get("_form"),
        values=values,
        message=DRAFT_REASONS.get(str(draft.get("reason")), DRAFT_REASONS["stale"]),
    )


def done(path: str, notice: str) -> RedirectResponse:
    """After a successful post: back to a page, with a notice."""
    return RedirectResponse(f"{path}?done={notice}", status_code=303)

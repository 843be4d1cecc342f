"""Signing in and out, and the dashboard."""

from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.admin import views
from app.admin.deps import (
    COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    FormDep,
    MaybeStaff,
    Viewer,
    ViewerPost,
    client_ip,
    safe_back,
    secure_cookies,
    sign_in_page,
)
from app.admin.forms import FormValues
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.users import sessions

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login")
def login_form(request: Request, staff: MaybeStaff, next: str = "") -> Response:
    """The sign-in page (straight on to the next page when already signed in)."""
    target = safe_back(next, PREFIX + "/")
    if staff is not None:
        return RedirectResponse(target, status_code=303)
    return sign_in_page(request, next_path=target)


def _carried(raw: str) -> dict[str, list[str]] | None:
    """The form a sign-in carried back (see deps.posted), if it is well-formed."""
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in data.values()
    ):
        return None
    return FormValues(data).kept()


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
) -> Response:
    """Check the credentials (rate limited), start a session, go where the user was going."""
    target = safe_back(form.get("next"), PREFIX + "/")
    again = {"next_path": target, "email": form.get("email"), "carry": form.get("carry")}
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("login_token")):
        return sign_in_page(
            request, status=400, message="The sign-in form had expired. Try again.", **again
        )
    try:
        user = sessions.sign_in(
            session,
            email=form.get("email"),
            password=form.get("password"),
            ip=client_ip(request),
            settings=settings,
            now=clock(),
        )
    except sessions.SignInRefused as exc:
        return sign_in_page(request, status=exc.status_code, message=exc.message, **again)
    carried = _carried(form.get("carry"))
    draft = {"path": target, "fields": carried, "reason": "expired"} if carried else None
    token = sessions.start_session(
        session, user=user, ip=client_ip(request), settings=settings, now=clock(), draft=draft
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        max_age=settings.admin_session_max_hours * 3600,
    )
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(post: ViewerPost) -> Response:
    """Sign out: the session is deleted and the cookie cleared."""
    sessions.end_session(post.session, token=post.request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PREFIX}/login?done=signed_out", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/")
def dashboard(screen: Viewer) -> HTMLResponse:
    """Open incidents, probe states, components with their status, delivery health."""
    return screen.render(
        "admin/dashboard.html",
        incidents=views.open_incidents(screen.session, screen.settings.tz),
        components=views.component_rows(screen.session),
        probes=views.probe_rows(screen.session, screen.settings.tz, now=screen.clock()),
        health=views.delivery_health(screen.session, now=screen.clock()),
    )


@router.get("")
def dashboard_slash() -> RedirectResponse:
    """/admin goes to /admin/."""
    return RedirectResponse(PREFIX + "/", status_code=308)

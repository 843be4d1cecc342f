"""Webhook subscribers (quarantined first, reactivate, delivery log, redeliver); the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import (
    PREFIX,
    EditorPost,
    Viewer,
    done,
    render,
)
from app.admin.forms import FormErrors, FormValues, parse_local
from app.audit import service as audit
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.models import UserRole
from app.subscribers import service as subscribers

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
        health=views.delivery_health(session, now=clock()),
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
    try:
        start = parse_local(since, settings.tz)
    except ValueError as exc:
        errors["since"] = str(exc).capitalize()
        start = None
    where = audit.AuditFilter(actor=actor, action=action, object_id=object_id, since=start)
    found = audit.list_events(
        session, where, limit=AUDIT_PER_PAGE + 1, offset=(page - 1) * AUDIT_PER_PAGE
    )
    actions = audit.actions(session)
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

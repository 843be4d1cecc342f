"""Webhook subscribers (quarantined first, reactivate, delivery log, redeliver); the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, EditorPost, Viewer, done
from app.admin.forms import FormErrors, FormValues, parse_local
from app.audit import service as audit
from app.subscribers import service as subscribers

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PER_PAGE = 100


@router.get("/subscribers")
def subscriber_list(screen: Viewer) -> HTMLResponse:
    """Webhook subscribers, quarantined ones first."""
    return screen.render(
        "admin/subscribers.html",
        subscribers=subscribers.list_subscribers(screen.session),
        health=views.delivery_health(screen.session, now=screen.clock()),
        when=screen.when,
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(subscriber_id: str, screen: Viewer) -> HTMLResponse:
    """One subscriber and its delivery log, every attempt."""
    return screen.render(
        "admin/subscriber.html",
        subscriber=subscribers.get_subscriber(screen.session, subscriber_id),
        deliveries=subscribers.deliveries_of(screen.session, subscriber_id, limit=100),
        when=screen.when,
    )


@router.post("/subscribers/{subscriber_id}/reactivate")
def reactivate(subscriber_id: str, post: EditorPost) -> Response:
    """Send to the subscriber again; held deliveries go out now."""
    subscribers.reactivate(post.session, subscriber_id, actor=post.actor, now=post.clock())
    return done(post.back, "reactivated")


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: str, post: EditorPost) -> Response:
    """Send one delivery again (same webhook-id)."""
    subscribers.redeliver(post.session, delivery_id, actor=post.actor, now=post.clock())
    return done(post.back, "redelivered")


@router.get("/audit")
def audit_log(
    screen: Viewer,
    actor: Annotated[str, Query(max_length=255)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Who did what, when and from where; filter by actor, action, object and date."""
    errors = FormErrors()
    try:
        start = parse_local(since, screen.settings.tz)
    except ValueError as exc:
        errors["since"] = str(exc).capitalize()
        start = None
    where = audit.AuditFilter(actor=actor, action=action, object_id=object_id, since=start)
    found = audit.list_events(
        screen.session, where, limit=AUDIT_PER_PAGE + 1, offset=(page - 1) * AUDIT_PER_PAGE
    )
    return screen.render(
        "admin/audit.html",
        events=found[:AUDIT_PER_PAGE],
        has_more=len(found) > AUDIT_PER_PAGE,
        page_number=page,
        actions=audit.actions(screen.session),
        values=FormValues.of(actor=actor, action=action, object_id=object_id, since=since),
        errors=errors,
        when=screen.when,
        query=urlencode({"actor": actor, "action": action, "object_id": object_id, "since": since}),
    )

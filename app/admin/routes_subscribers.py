"""Webhook subscribers (quarantined first, reactivate, delivery log, redeliver); the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app.admin import views
from app.admin.deps import PREFIX, EditorPost, Screen, Viewer, done
from app.admin.flow import FormState, form_page, submit
from app.admin.forms import FormErrors, FormValues, parse_local
from app.audit import service as audit
from app.subscribers import people
from app.subscribers import service as subscribers

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PER_PAGE = 100


def _email_page(screen: Screen, shown: FormState | None = None) -> HTMLResponse:
    return form_page(
        screen,
        "admin/email_subscribers.html",
        shown or FormState(),
        subscribers=people.list_email(screen.session, now=screen.clock()),
        when=screen.when,
    )


@router.get("/subscribers/email")
def email_subscribers(screen: Viewer) -> HTMLResponse:
    """Email subscribers: confirmed, pending confirmation, undeliverable; add, import, export."""
    return _email_page(screen)


@router.get("/subscribers/email.csv")
def email_export(screen: Viewer) -> Response:
    """Email subscribers as CSV."""
    text = people.export_csv(people.list_email(screen.session, now=screen.clock()))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="email-subscribers.csv"'},
    )


@router.post("/subscribers/email")
def email_add(post: EditorPost) -> Response:
    """Add an address without confirmation (staff vouch for it)."""
    return submit(
        post,
        lambda: people.add_email(
            post.session,
            address=post.form.get("email"),
            component_ids=None,
            actor=post.actor,
            now=post.clock(),
        ),
        field="email",
        page=lambda shown: _email_page(post, shown),
        then=lambda _: done(f"{PREFIX}/subscribers/email", "added"),
    )


@router.post("/subscribers/email/import")
def email_import(post: EditorPost) -> Response:
    """Add the addresses of a pasted CSV (email column; component_ids optional)."""
    return submit(
        post,
        lambda: people.import_csv(
            post.session, post.form.get("csv"), actor=post.actor, now=post.clock()
        ),
        field="csv",
        page=lambda shown: _email_page(post, shown),
        then=lambda result: done(
            f"{PREFIX}/subscribers/email", f"imported {result.added}, {result.already} already"
        ),
    )


@router.post("/subscribers/{subscriber_id}/delete")
def remove(subscriber_id: str, post: EditorPost) -> Response:
    """Remove a subscriber (any channel) and its delivery log."""
    subscribers.delete_subscriber(post.session, subscriber_id, actor=post.actor, now=post.clock())
    return done(post.back, "removed")


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

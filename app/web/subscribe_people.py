"""Public subscriptions for people: email (double opt-in, follow one incident), chat apps, and
the page a subscriber's links lead to (confirm, change components, unsubscribe)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from app import i18n
from app.clock import ClockDep
from app.components import service as components
from app.config import SettingsDep
from app.db import ReadSessionDep, SessionDep
from app.errors import NotFound, PharosError, TooManyRequests
from app.i18n import _
from app.models import Subscriber, SubscriberChannel, SubscriberStatus
from app.notifications import chat
from app.subscribers import chat_test, links, people
from app.web.pages import render
from app.web.subscriptions import LinkKeyDep, form_page, guard_public_subscribe

router = APIRouter(tags=["public pages"], include_in_schema=False)


def _refused(
    request: Request,
    session: SessionDep,
    exc: PharosError,
    values: dict[str, object],
    *,
    anchor: str,
) -> HTMLResponse:
    refused = form_page(
        request,
        session,
        error=exc.message,
        values=values,
        status_code=exc.status_code,
        anchor=anchor,
    )
    if isinstance(exc, TooManyRequests):
        refused.headers["Retry-After"] = str(exc.retry_after)
    return refused


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/subscriptions/email")
def subscribe_email(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    email: Annotated[str, Form(max_length=320)],
    component_ids: Annotated[list[str] | None, Form()] = None,
    incident_id: Annotated[str | None, Form(max_length=12)] = None,
) -> HTMLResponse:
    """Ask for email updates: the page says "check your inbox" whatever the address's state."""
    if not settings.email_enabled:
        raise NotFound("email subscriptions are not offered here")
    values: dict[str, object] = {"email": email, "component_ids": component_ids or []}
    try:
        now = clock()
        guard_public_subscribe(
            request, session, settings, now=now, target="mailto:" + email.strip().lower()
        )
        people.subscribe_email(
            session,
            address=email,
            component_ids=component_ids,
            incident_id=incident_id or None,
            language=i18n.current(),
            now=now,
        )
    except PharosError as exc:
        return _refused(request, session, exc, values, anchor="email")
    return _no_store(render(request, "subscribe_check_inbox.html", address=email.strip()))


@router.post("/subscriptions/chat")
def subscribe_chat(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    link_key: LinkKeyDep,
    url: Annotated[str, Form(max_length=2048)],
    app: Annotated[str, Form(max_length=32)] = "",
    component_ids: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Subscribe a chat app's incoming webhook; a test message must be accepted first."""
    values: dict[str, object] = {"chat_url": url, "app": app, "component_ids": component_ids or []}
    try:
        channel = SubscriberChannel(app) if app else None
    except ValueError:
        channel = None
    try:
        now = clock()
        # The target is the whole URL: every Slack webhook shares one host.
        guard_public_subscribe(request, session, settings, now=now, target=url.strip())
        subscriber = people.subscribe_chat(
            session,
            url=url,
            app=channel,
            component_ids=component_ids,
            allow_private=settings.webhook_allow_private,
            send_test=lambda kind, target: chat_test.send_test_message(settings, kind, target),
            actor="public form",
            now=now,
        )
    except PharosError as exc:
        return _refused(request, session, exc, values, anchor="chat")
    response = render(
        request,
        "subscribed_person.html",
        subscriber=subscriber,
        app_name=chat.APP_NAMES.get(subscriber.channel, ""),
        manage=f"{settings.public_url}/subscriptions/{links.token_for(link_key, subscriber)}",
    )
    response.status_code = 201
    return _no_store(response)


@router.get("/subscriptions/{token}/confirm")
def confirm_form(
    token: str, request: Request, session: ReadSessionDep, link_key: LinkKeyDep
) -> HTMLResponse:
    """The confirmation link asks for one click (mail scanners follow GET links)."""
    subscriber = links.find(session, link_key, token)
    return _no_store(
        render(
            request,
            "subscription_confirm.html",
            subscriber=subscriber,
            link=links.token_for(link_key, subscriber),
        )
    )


@router.post("/subscriptions/{token}/confirm")
def confirm(
    token: str, request: Request, session: SessionDep, clock: ClockDep, link_key: LinkKeyDep
) -> HTMLResponse:
    """Confirm an email subscription."""
    subscriber = people.confirm(session, links.find(session, link_key, token), now=clock())
    if subscriber is None:
        expired = render(request, "subscription_expired.html")
        expired.status_code = 410
        return _no_store(expired)
    return _manage_page(request, session, subscriber, link_key, notice=_("You are subscribed."))


def _manage_page(
    request: Request,
    session: ReadSessionDep | SessionDep,
    subscriber: Subscriber,
    link_key: bytes,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    choices = [(c.id, c.name, c.is_group) for c in components.list_components(session)]
    response = render(
        request,
        "subscription_manage.html",
        subscriber=subscriber,
        link=links.token_for(link_key, subscriber),
        target=_target(subscriber),
        components=choices,
        notice=notice,
        error=error,
        pending=subscriber.status == SubscriberStatus.pending,
    )
    response.status_code = status_code
    return _no_store(response)


def _target(subscriber: Subscriber) -> str:
    if subscriber.channel == SubscriberChannel.email:
        return subscriber.email or ""
    return chat.APP_NAMES.get(subscriber.channel, "webhook") + " webhook"


@router.get("/subscriptions/{token}")
def manage(
    token: str, request: Request, session: ReadSessionDep, link_key: LinkKeyDep
) -> HTMLResponse:
    """A subscriber's own page: what they hear about, and unsubscribing (no account)."""
    return _manage_page(request, session, links.find(session, link_key, token), link_key)


@router.post("/subscriptions/{token}")
def change(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    link_key: LinkKeyDep,
    component_ids: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Save which components a subscriber hears about (none ticked: everything)."""
    subscriber = links.find(session, link_key, token)
    try:
        people.set_components(session, subscriber, component_ids, now=clock())
    except PharosError as exc:
        return _manage_page(
            request,
            session,
            subscriber,
            link_key,
            error=exc.message,
            status_code=exc.status_code,
        )
    return _manage_page(request, session, subscriber, link_key, notice=_("Saved."))

"""Public webhook subscription: a form, its result page, and the unsubscribe link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from app.clock import ClockDep
from app.components import service as components
from app.config import Settings, SettingsDep
from app.db import ReadSessionDep, SessionDep, advisory_lock, read_session, unit_of_work
from app.errors import PharosError, TooManyRequests
from app.notifications import chat
from app.notifications import links as signed_links
from app.subscribers import abuse, links, service
from app.subscribers.schemas import SubscriberCreate
from app.web.pages import render

router = APIRouter(tags=["public pages"], include_in_schema=False)


def link_key(request: Request) -> bytes:
    """The key subscriber links are signed with (read once per app)."""
    key: bytes | None = getattr(request.app.state, "link_key", None)
    if key is None:
        with unit_of_work(request.app.state.engine) as session:
            key = signed_links.key(session, request.app.state.settings)
        request.app.state.link_key = key
    return key


LinkKeyDep = Annotated[bytes, Depends(link_key)]


EMPTY_FORM: dict[str, object] = {
    "url": "",
    "email": "",
    "chat_url": "",
    "app": "",
    "component_ids": [],
}


def form_page(
    request: Request,
    session: ReadSessionDep | SessionDep,
    *,
    error: str | None = None,
    values: dict[str, object] | None = None,
    status_code: int = 200,
    anchor: str = "webhook",
) -> HTMLResponse:
    """The subscribe page (email first, then chat apps, webhooks and feeds), with the error
    of the form that was refused shown at that form."""
    settings: Settings = request.app.state.settings
    choices = [(c.id, c.name, c.is_group) for c in components.list_components(session)]
    response = render(
        request,
        "subscribe.html",
        components=choices,
        error=error,
        error_at=anchor,
        values={**EMPTY_FORM, **(values or {})},
        email_enabled=settings.email_enabled,
        chat_apps=[(app.value, name) for app, name in chat.APP_NAMES.items()],
    )
    response.status_code = status_code
    return response


def guard_public_subscribe(
    request: Request, session: Session, settings: Settings, *, now: datetime, target: str
) -> None:
    """The rate limits every public subscribe endpoint passes first (see subscribers/abuse.py).

    `target` is what is subscribed to: a webhook's host, an email address. Raises
    TooManyRequests (429 + Retry-After) before anything is stored. The attempt is counted in a
    transaction of its own, committed at once (a failed attempt still counts), so call this
    before the request's own session writes: on SQLite it would hold the one write lock.
    """
    if session.in_transaction():
        raise RuntimeError("guard_public_subscribe must come before the request's own queries")
    throttle: abuse.Throttle = request.app.state.subscribe_throttle
    address = request.client.host if request.client else "unknown"
    with unit_of_work(request.app.state.engine) as counted:
        throttle.check(counted, now, address=address, target=target)


@router.get("/subscribe")
def subscribe_form(request: Request, session: ReadSessionDep) -> HTMLResponse:
    """The subscription forms."""
    return form_page(request, session)


@router.post("/subscriptions/webhook")
def subscribe(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    link_key: LinkKeyDep,
    url: Annotated[str, Form(max_length=2048)],
    email: Annotated[str, Form(max_length=320)] = "",
    component_ids: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Subscribe a webhook endpoint; the page shows its signing secret once."""
    values: dict[str, object] = {"url": url, "email": email, "component_ids": component_ids or []}
    try:
        data = SubscriberCreate(url=url, email=email or None, component_ids=component_ids or None)
        host = abuse.target_host(data.url)
        cap = settings.subscribe_max_per_host
        guard_public_subscribe(request, session, settings, now=clock(), target=host)
        with read_session(request.app.state.engine) as reading:  # before sending anything
            abuse.check_host_cap(abuse.webhook_count_for_host(reading, host), host, cap)
        # No transaction is open while the endpoint has its seconds to answer: nothing waits
        # for it (on SQLite a write transaction here would hold every writer's lock).
        abuse.verify_webhook(
            data.url,
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_verify_timeout_seconds,
        )
        advisory_lock(session, f"webhook-host:{host}")  # again, where two can't both pass
        abuse.check_host_cap(abuse.webhook_count_for_host(session, host), host, cap)
        subscriber, secret = service.subscribe(
            session,
            data=data,
            allow_private=settings.webhook_allow_private,
            actor="public form",
            now=clock(),
        )
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return form_page(request, session, error=message, values=values, status_code=422)
    except PharosError as exc:
        refused = form_page(
            request, session, error=exc.message, values=values, status_code=exc.status_code
        )
        if isinstance(exc, TooManyRequests):
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    link = links.token_for(link_key, subscriber)
    unsubscribe = f"{settings.public_url}/subscriptions/{link}/unsubscribe"
    response = render(
        request, "subscribed.html", subscriber=subscriber, secret=secret, unsubscribe=unsubscribe
    )
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/subscriptions/{token}/unsubscribe")
def unsubscribe_confirm(
    token: str, request: Request, session: ReadSessionDep, link_key: LinkKeyDep
) -> HTMLResponse:
    """Ask before unsubscribing (link scanners follow GET links)."""
    subscriber = links.find(session, link_key, token, what="unsubscribe link")
    return render(request, "unsubscribe.html", subscriber=subscriber, token=token, done=False)


@router.post("/subscriptions/{token}/unsubscribe")
def unsubscribe(
    token: str, request: Request, session: SessionDep, clock: ClockDep, link_key: LinkKeyDep
) -> HTMLResponse:
    """Unsubscribe for good (also RFC 8058's one-click POST from a mail client)."""
    subscriber = links.find(session, link_key, token, what="unsubscribe link")
    service.unsubscribe(session, subscriber, now=clock())
    return render(request, "unsubscribe.html", subscriber=subscriber, token=token, done=True)

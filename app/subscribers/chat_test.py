"""The test message a chat app gets when it is subscribed (public form and staff API)."""

from __future__ import annotations

import httpx

from app.config import Settings
from app.models import SubscriberChannel
from app.notifications import chat, messages, outbound
from app.notifications.webhooks import Outcome

TEST_TIMEOUT = 10.0  # seconds a chat app has to accept the test message


def welcome_view(settings: Settings) -> messages.EventView:
    """The message a chat app gets when it is subscribed."""
    return messages.EventView(
        event_type="subscription.test",
        incident_id="test",
        page_name=settings.page_name,
        title=f"{settings.page_name} status updates will be posted here",
        status="Subscribed",
        colour=messages.GREEN,
        url=settings.public_url + "/",
        latest=messages.UpdateView(
            status="Subscribed",
            body="This is a test message: incidents and maintenance will appear like this.",
            posted="",
        ),
        earlier=[],
        components=[],
        window=None,
        postmortem=None,
    )


def send_test_message(settings: Settings, app: SubscriberChannel, url: str) -> Outcome:
    """POST the test message to a chat webhook and say whether it was accepted."""
    body = chat.message(app, welcome_view(settings))
    try:
        # Pinned to the address it checks, so DNS can't point the test at the inside.
        with outbound.client(
            allow_private=settings.webhook_allow_private, timeout=TEST_TIMEOUT
        ) as client:
            response = client.post(url, json=body)
    except httpx.HTTPError as exc:
        return Outcome(None, 0, f"{type(exc).__name__}: {exc}"[:200])
    ok = 200 <= response.status_code < 300
    return Outcome(response.status_code, 0, None if ok else f"HTTP {response.status_code}")

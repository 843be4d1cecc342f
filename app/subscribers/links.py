"""Finding the subscriber a link belongs to, and the key links are signed with.

Links in everything sent from now on carry a signed token (app/notifications/links.py). Links
sent before signing carry the bare stored token; they keep working, because mail already in
people's inboxes must still unsubscribe them (RFC 8058 asks a one-click link to keep working),
and a stored token is 192 random bits, no easier to forge than a signature.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.errors import NotFound
from app.models import Subscriber
from app.notifications import links


def find(session: Session, link_key: bytes, token: str, *, what: str = "link") -> Subscriber:
    """The subscriber a link token names: a signed one valid under `link_key`, or a bare
    stored token from before links were signed. NotFound otherwise."""
    subscriber_id = links.subscriber_id(token)
    if subscriber_id is not None:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None and links.valid(
            link_key,
            token,
            subscriber_id=subscriber.id,
            stored_token=subscriber.unsubscribe_token,
        ):
            return subscriber
    else:
        subscriber = session.exec(
            select(Subscriber).where(Subscriber.unsubscribe_token == token)
        ).first()
        if subscriber is not None:
            return subscriber
    raise NotFound(f"this {what} is not valid (expired or already unsubscribed?)")


def token_for(link_key: bytes, subscriber: Subscriber) -> str:
    """The signed token of a subscriber's links."""
    return links.sign(link_key, subscriber.id, subscriber.unsubscribe_token)

"""The token in a subscriber's own links (confirm, manage, unsubscribe): signed, not guessed.

A link token is `<subscriber id>.<signature>`, the signature an HMAC-SHA256 over the subscriber's
id and its stored random token, keyed with the page's link key (derived from PHAROS_SECRET_KEY,
or without one a key made at install and kept in the database). Nobody without the key can make
one; a new key invalidates every link sent before it; a subscriber who unsubscribes and comes
back gets a new stored token, so their old links stay dead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlmodel import Session

from app.config import Settings
from app.models import AppSecret

CONTEXT = b"pharos subscriber link v1\0"
SIGNATURE_CHARS = 43  # the whole SHA-256 digest, base64url without padding
KEY_NAME = "subscriber_links"


def sign(key: bytes, subscriber_id: str, stored_token: str) -> str:
    """The link token for one subscriber."""
    digest = hmac.new(
        key, CONTEXT + subscriber_id.encode() + b"\0" + stored_token.encode(), hashlib.sha256
    ).digest()
    return f"{subscriber_id}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def subscriber_id(link_token: str) -> str | None:
    """The subscriber id a signed link token names (None for anything else, e.g. the bare
    stored token of links sent before links were signed)."""
    sid, dot, signature = link_token.partition(".")
    if not dot or not sid or len(signature) != SIGNATURE_CHARS:
        return None
    return sid


def valid(key: bytes, link_token: str, *, subscriber_id: str, stored_token: str) -> bool:
    """True when `link_token` is this subscriber's signed token under `key`."""
    return hmac.compare_digest(link_token, sign(key, subscriber_id, stored_token))


def key(session: Session, settings: Settings) -> bytes:
    """A key of its own derived from PHAROS_SECRET_KEY (which encrypts other things too), or
    the installation's own key (made on first use if missing)."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"pharos subscriber link key", hashlib.sha256).digest()
    stored = session.get(AppSecret, KEY_NAME)
    if stored is None:
        try:
            with session.begin_nested():
                stored = AppSecret(name=KEY_NAME, value=secrets.token_urlsafe(32))
                session.add(stored)
        except sa.exc.IntegrityError:  # another process made it first
            stored = session.get(AppSecret, KEY_NAME)
            assert stored is not None
    return stored.value.encode()

"""API tokens: creation and verification. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.models import ApiToken

TOKEN_PREFIX = "phr_"  # noqa: S105  (a prefix that makes leaked tokens greppable)
# last_used_at is informative; writing it on every request would serialize all API reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


SCOPES = ("write", "read")  # read: GET requests only


def create_token(
    session: Session, *, name: str, now: datetime, scope: str = "write", actor: str = "cli"
) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValueError("token name must not be empty")
    if len(name) > 255:
        raise ValueError("token name is longer than 255 characters")
    if scope not in SCOPES:
        raise ValueError(f"token scope is one of {', '.join(SCOPES)}")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(plain), created_at=now, scope=scope)
    session.add(token)
    session.flush()
    audit.record(
        session, actor, "token.created", str(token.id), at=now, data={"name": name, "scope": scope}
    )
    return token, plain


def find_token(session: Session, *, plain: str) -> ApiToken | None:
    """The live (not revoked) token matching this value, or None; nothing is written."""
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(plain))).first()
    if token is None or token.revoked_at is not None:
        return None
    return token


def use_is_news(token: ApiToken, *, now: datetime) -> bool:
    """Whether `last_used_at` is older than its resolution, so this use should be written."""
    return token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION


def note_use(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Write this use as the token's last (when `use_is_news`); the token may come from
    another session, such as a read-only one."""
    session.execute(
        sa.update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
    )


def verify_token(session: Session, *, plain: str, now: datetime) -> ApiToken | None:
    """The live token matching this value, or None; its use is written at most once a minute."""
    token = find_token(session, plain=plain)
    if token is not None and use_is_news(token, now=now):
        note_use(session, token, now=now)
    return token


def is_live(session: Session, plain: str) -> bool:
    """Whether this is a live token's value (a read: nothing is recorded)."""
    return find_token(session, plain=plain) is not None


def list_tokens(session: Session) -> list[ApiToken]:
    """All tokens, oldest first."""
    return list(session.exec(select(ApiToken).order_by(ApiToken.id)))  # type: ignore[arg-type]


def revoke_token(
    session: Session, *, token_id: int, now: datetime, actor: str = "cli"
) -> ApiToken | None:
    """Revoke a token by id; returns it, or None when there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        audit.record(
            session, actor, "token.revoked", str(token.id), at=now, data={"name": token.name}
        )
    return token

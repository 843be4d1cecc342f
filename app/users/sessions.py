"""Signing in: rate limits and lock-out per account and per address, server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import advisory_lock
from app.errors import PharosError
from app.models import LoginAttempt, StaffSession, User
from app.users import service as users

# Writing last_seen_at on every page view would serialize reads; a minute is precise enough.
SEEN_RESOLUTION = timedelta(minutes=1)
ATTEMPTS_KEPT = timedelta(days=30)


class SignInRefused(PharosError):
    """Wrong email or password, a disabled account, or a lock-out."""

    status_code = 401
    code = "sign_in_refused"


class LockedOut(SignInRefused):
    """Too many failed sign-ins for this account or from this address."""

    status_code = 429
    code = "locked_out"


@dataclass(frozen=True)
class SignedIn:
    """A live session and its user."""

    session: StaffSession
    user: User

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.user.email}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _failures(session: Session, column: Any, value: str, since: datetime) -> int:
    """Failed attempts since `since` and since the last success for this account or address."""
    last_ok = session.exec(
        select(sa.func.max(LoginAttempt.at))
        .where(column == value)
        .where(col(LoginAttempt.success))
        .where(LoginAttempt.at >= since)
    ).one()
    start = max(since, last_ok) if last_ok else since
    count: int = session.exec(
        select(sa.func.count())
        .select_from(LoginAttempt)
        .where(column == value)
        .where(~col(LoginAttempt.success))
        .where(LoginAttempt.at >= start)
    ).one()
    return count


def sign_in(
    session: Session, *, email: str, password: str, ip: str, settings: Settings, now: datetime
) -> User:
    """The user these credentials belong to, or SignInRefused / LockedOut. Every try is logged."""
    email = users.normalize_email(email)[: users.EMAIL_MAX]
    ip = ip[:64]
    window = timedelta(minutes=settings.admin_login_lockout_minutes)
    since = now - window
    minutes = settings.admin_login_lockout_minutes
    # Parallel tries must not all read the count before any is written: hold this address's
    # and this account's lock until the transaction ends, so each try counts the ones before
    # it. (SQLite writers already queue: every write transaction begins IMMEDIATE.)
    advisory_lock(session, f"login-ip:{ip}")
    advisory_lock(session, f"login-email:{email}")
    if _failures(session, col(LoginAttempt.ip), ip, since) >= settings.admin_login_ip_max_failures:
        raise LockedOut(f"Too many failed sign-ins from your address. Try again in {minutes} min.")
    if _failures(session, col(LoginAttempt.email), email, since) >= (
        settings.admin_login_max_failures
    ):
        raise LockedOut(
            f"Too many failed sign-ins for this account. It is locked for {minutes} min."
        )
    # Counted before the password is checked: a try that crashes half-way still counts.
    attempt = LoginAttempt(at=now, email=email, ip=ip, success=False)
    session.add(attempt)
    session.flush()
    user = users.find_by_email(session, email)
    ok = users.verify_password(user, password) and user is not None and user.disabled_at is None
    attempt.success = ok
    session.add(attempt)
    session.execute(sa.delete(LoginAttempt).where(col(LoginAttempt.at) < now - ATTEMPTS_KEPT))
    if ok and user is not None and users.needs_rehash(user):
        user.password_hash = users.hash_password(password)
        session.add(user)
    session.flush()
    if not ok or user is None:
        raise SignInRefused("Wrong email or password.")
    return user


def start_session(
    session: Session,
    *,
    user: User,
    ip: str,
    settings: Settings,
    now: datetime,
    draft: dict[str, Any] | None = None,
) -> str:
    """A new session for the user; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        id=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=_expiry(now, now, settings),
        ip=ip[:64],
        draft=draft,
    )
    session.add(row)
    session.execute(sa.delete(StaffSession).where(col(StaffSession.expires_at) < now))
    session.flush()
    return token


def _expiry(created_at: datetime, now: datetime, settings: Settings) -> datetime:
    return min(
        created_at + timedelta(hours=settings.admin_session_max_hours),
        now + timedelta(minutes=settings.admin_session_idle_minutes),
    )


def find_session(session: Session, *, token: str, now: datetime) -> SignedIn | None:
    """The live session for this cookie value and its user, or None; nothing is written."""
    row = session.get(StaffSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return SignedIn(session=row, user=user)


def seen_is_news(signed_in: SignedIn, *, now: datetime) -> bool:
    """Whether `last_seen_at` is older than its resolution, so this visit should be written."""
    return now - signed_in.session.last_seen_at >= SEEN_RESOLUTION


def _write(session: Session, signed_in: SignedIn, **values: Any) -> None:
    """Change the stored session row through `session`; `signed_in` may have been read by
    another session (a read-only one), and its copy shows the new values too."""
    row = session.get(StaffSession, signed_in.session.id)
    for name, value in values.items():
        if row is not None:
            setattr(row, name, value)
        if row is not signed_in.session:
            set_committed_value(signed_in.session, name, value)
    session.flush()


def note_seen(session: Session, signed_in: SignedIn, *, settings: Settings, now: datetime) -> None:
    """Move the session's idle expiry on from this visit (when `seen_is_news`)."""
    expires = _expiry(signed_in.session.created_at, now, settings)
    _write(session, signed_in, last_seen_at=now, expires_at=expires)


def end_session(session: Session, *, token: str) -> None:
    """Sign out: the session is deleted."""
    session.execute(sa.delete(StaffSession).where(col(StaffSession.id) == _digest(token)))
    session.flush()


def keep_draft(session: Session, signed_in: SignedIn, draft: dict[str, Any] | None) -> None:
    """Remember (or forget) a refused form, to show it again on its page."""
    _write(session, signed_in, draft=draft)

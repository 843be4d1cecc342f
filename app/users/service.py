"""Staff accounts: create, change role, disable, set passwords (argon2). Audited."""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.errors import Conflict, InvalidInput, NotFound
from app.models import StaffSession, User, UserRole
from app.text import refuse_bidi

PASSWORD_MIN = 10
PASSWORD_MAX = 1024
EMAIL_MAX = 320

_hasher = PasswordHasher()
# Verified against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    """The stored form of an email address: trimmed, lower case."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """A normalized email address, or InvalidInput."""
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > EMAIL_MAX or " " in email:
        raise InvalidInput("enter an email address like name@example.com")
    try:
        return refuse_bidi(email)
    except ValueError as exc:
        raise InvalidInput(f"email address {exc}") from exc


def check_password(password: str) -> str:
    """The password, or InvalidInput when it is too short or too long."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"a password has at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"a password has at most {PASSWORD_MAX} characters")
    return password


def new_password() -> str:
    """A random one-time password to hand to a new user."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    """The argon2id hash stored for a password."""
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Whether the password is the user's; takes as long when there is no user."""
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and bool(user)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(user: User) -> bool:
    """Whether the hash was made with older argon2 parameters."""
    return _hasher.check_needs_rehash(user.password_hash)


def list_users(session: Session) -> list[User]:
    """Every user, by email."""
    return list(session.exec(select(User).order_by(col(User.email))))


def get_user(session: Session, user_id: str) -> User:
    """One user or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id!r} does not exist")
    return user


def find_by_email(session: Session, email: str) -> User | None:
    """The user with this email address, if any."""
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def create_user(
    session: Session, *, email: str, role: UserRole, password: str, actor: str, now: datetime
) -> User:
    """Create a user with this password (hashed with argon2)."""
    email = check_email(email)
    check_password(password)
    if find_by_email(session, email) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password), created_at=now)
    session.add(user)
    session.flush()
    audit.record(
        session, actor, "user.created", user.id, at=now, data={"email": email, "role": role.value}
    )
    return user


def _admins_left(session: Session, without: str) -> int:
    return len(
        session.exec(
            select(User.id)
            .where(User.role == UserRole.admin)
            .where(col(User.disabled_at).is_(None))
            .where(User.id != without)
        ).all()
    )


def change_user(
    session: Session,
    user_id: str,
    *,
    role: UserRole,
    disabled: bool,
    actor: str,
    now: datetime,
) -> User:
    """Set a user's role and whether it may sign in; the last admin stays an admin."""
    user = get_user(session, user_id)
    losing_admin = user.role == UserRole.admin and (role != UserRole.admin or disabled)
    if losing_admin and _admins_left(session, user.id) == 0:
        raise Conflict("this is the last admin; make another user admin first")
    before = {"role": user.role.value, "disabled": user.disabled_at is not None}
    user.role = role
    if disabled and user.disabled_at is None:
        user.disabled_at = now
        _end_sessions(session, user.id)
    elif not disabled:
        user.disabled_at = None
    session.add(user)
    audit.record(
        session,
        actor,
        "user.changed",
        user.id,
        at=now,
        data={"before": before, "after": {"role": role.value, "disabled": disabled}},
    )
    return user


def set_password(
    session: Session,
    user_id: str,
    *,
    password: str,
    actor: str,
    now: datetime,
    keep_session: str | None = None,
) -> User:
    """Replace a user's password; every session of the user ends but `keep_session`."""
    user = get_user(session, user_id)
    user.password_hash = hash_password(check_password(password))
    session.add(user)
    _end_sessions(session, user.id, keep=keep_session)
    audit.record(session, actor, "user.password_set", user.id, at=now)
    return user


def _end_sessions(session: Session, user_id: str, *, keep: str | None = None) -> None:
    for row in session.exec(select(StaffSession).where(StaffSession.user_id == user_id)):
        if row.id != keep:
            session.delete(row)

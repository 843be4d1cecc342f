"""The staff dependency: a valid `Authorization: Bearer <token>` or 401."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import service
from app.clock import Clock, ClockDep
from app.config import Settings, SettingsDep
from app.db import SessionDep, read_session, unit_of_work

_bearer = HTTPBearer(auto_error=False, description="A token from `pharos tokens create NAME`")


@dataclass(frozen=True)
class Staff:
    """One staff API request: its unit of work, the page's settings, who acts, and when."""

    session: Session
    settings: Settings
    actor: str  # "token:<name>", as the audit log names it
    now: datetime
    clock: Clock  # for "now" read later, under a lock


def require_staff(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    """The request's context, for a valid token only (401 without one, 403 for a read token
    asked to write)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=challenge)
    # The request's own transaction is not opened here: on SQLite it would take the one write
    # lock for the whole request, held while a handler waits on the network (a chat app
    # answering its test message, a probe run now). The token is read on a read-only session
    # and its use written in a moment's transaction of its own, at most once a minute.
    engine = request.app.state.engine
    now = clock()
    with read_session(engine) as reading:
        token = service.find_token(reading, plain=credentials.credentials)
    if token is not None and service.use_is_news(token, now=now):
        with unit_of_work(engine) as writing:
            service.note_use(writing, token, now=now)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked token", headers=challenge
        )
    if token.scope == "read" and request.method not in ("GET", "HEAD"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token may only read (scope: read)")
    return Staff(
        session=session, settings=settings, actor=f"token:{token.name}", now=clock(), clock=clock
    )


StaffDep = Annotated[Staff, Depends(require_staff)]

"""The staff dependency: a valid `Authorization: Bearer <token>` or 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import service
from app.clock import ClockDep
from app.db import SessionDep

_bearer = HTTPBearer(auto_error=False, description="A token from `pharos tokens create NAME`")


def require_staff(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The acting staff member's name (the token's name)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=challenge)
    token = service.verify_token(session, plain=credentials.credentials, now=clock())
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked token", headers=challenge
        )
    if token.scope == "read" and request.method not in ("GET", "HEAD"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token may only read (scope: read)")
    return f"token:{token.name}"


StaffDep = Annotated[str, Depends(require_staff)]

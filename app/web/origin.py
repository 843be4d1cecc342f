"""Remember each request's client address for the audit log ("from where")."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.audit import service as audit


class AuditOrigin:
    """Set app.audit.service.origin for the request (after uvicorn's proxy-header handling)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = audit.origin.set(client[0][:64] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            audit.origin.reset(token)

"""Security headers on every response; a strict Content-Security-Policy on our own pages."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere in our templates, so the policy can be strict. Images
# in Markdown bodies (graphs, screenshots) may come from any https host.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data: https:; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def embed_csp(origins: list[str]) -> str:
    """The embed's policy: as strict as the pages', framed only by the listed origins."""
    ancestors = " ".join(origins) if origins else "'none'"
    return PAGE_CSP.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


class SecurityHeaders:
    """Add nosniff, referrer policy, frame protection and (for HTML pages) the CSP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if "frame-ancestors" not in headers.get("Content-Security-Policy", ""):
                    # (an answer that names who may frame it, the embed, decides that itself)
                    headers.setdefault("X-Frame-Options", "DENY")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", PAGE_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)

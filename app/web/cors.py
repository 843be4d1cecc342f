"""CORS for the public API: a page on any origin may read /api/v2, errors included.

The API is public, read-only and needs no credentials, so every answer under /api/v2 says
`Access-Control-Allow-Origin: *` (a 404 and a 422 as much as a 200, so a script can read why),
and a browser's preflight `OPTIONS` (sent before a request with a custom header) is answered
here with 204. The middleware sits inside the render cache, so the headers are kept with each
cached answer: hits, 304s and stale answers carry them as they were rendered, at no cost per
request (`pharos serve` answers hits before any middleware).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/v2/"
METHODS = "GET, HEAD, OPTIONS"
# Beyond the CORS-safelisted ones: what a script paging or revalidating needs to read.
EXPOSED = "ETag, Link, X-Total-Count, Retry-After"
PREFLIGHT_MAX_AGE = "86400"


def with_cors(send: Send) -> Send:
    """`send` with the CORS headers added to the answer's start."""

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Access-Control-Expose-Headers"] = EXPOSED
        await send(message)

    return send_with_cors


class PublicApiCors:
    """Adds the CORS headers to every /api/v2 answer and answers its preflights."""

    def __init__(self, app: ASGIApp, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._preflight(scope, send)
            return
        await self.app(scope, receive, with_cors(send))

    @staticmethod
    async def _preflight(scope: Scope, send: Send) -> None:
        asked = Headers(scope=scope).get("access-control-request-headers")
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", METHODS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"allow", METHODS.encode()),
            (b"vary", b"Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        if asked:  # no credentials are involved, so any header the script wants to send is fine
            headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

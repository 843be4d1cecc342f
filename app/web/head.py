"""HEAD for every address that answers GET (RFC 9110, 9.3.2).

FastAPI's GET routes don't answer HEAD (405), so without this only render-cache hits did:
`HEAD /healthz` from a load balancer, `HEAD /uptime/?from=...`, an admin page, and every page
with the render cache off were 405s. The request goes on as a GET and its answer's body is
dropped; its status and headers (Content-Length included) are the GET's.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Answer HEAD as the GET of the same address would, without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(dict(scope, method="GET"), receive, without_body)

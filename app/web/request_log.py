"""One log line per request: client, method, path, status and time taken, never a secret.

`203.0.113.7 GET /api/v2/summary.json 200 1.4ms`. The client is the one the app believes:
behind a trusted proxy (PHAROS_TRUSTED_PROXIES) the forwarded client, not the proxy
(app/web/origin.py). The query string is left out (it may carry anything), and a path segment
that looks like a token (20 or more URL-safe characters, like the unsubscribe links' tokens)
is written as `*`. Headers are never logged, so neither are bearer tokens nor session cookies.
The server wraps the whole app with it (app/server.py), so answers from the render cache's hit
path are logged too.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.origin import ForwardedFor

log = logging.getLogger("pharos.http")
# Random tokens, and signed subscriber link tokens (<12-char id>.<43-char signature>).
SECRET_LIKE = re.compile(r"^(?:[A-Za-z0-9_-]{20,}|[a-z0-9]{12}\.[A-Za-z0-9_-]{43})$")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@lru_cache(maxsize=1024)  # readers ask for few distinct paths
def loggable_path(path: str) -> str:
    """The path with anything token-like hidden."""
    return "/".join("*" if SECRET_LIKE.match(part) else part for part in path.split("/"))


class RequestLog:
    """Logs each HTTP request once it is answered (or fails without an answer: status 500)."""

    def __init__(self, app: ASGIApp, *, trusted: str) -> None:
        self.app = app
        self.forwarded = ForwardedFor(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)  # (not logged: nothing to measure or resolve)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.write(scope, status, started)

    def write(self, scope: Scope, status: int, started: float) -> None:
        """The line of a request answered with `status`, begun at perf_counter() `started`
        (also for the hits app.rsgi answers before the app sees them)."""
        took = (time.perf_counter() - started) * 1000
        path = loggable_path(scope.get("root_path", "") + scope["path"])
        client = self.forwarded.client(scope)
        log.info("%s %s %s %d %.1fms", client, scope["method"], path, status, took)


def configure(level: str) -> None:
    """Pharos's own log lines (requests, deliveries, workers) to stderr at `level`.

    Called by the processes that serve or work, once; the server's own loggers are left alone.
    """
    logger = logging.getLogger("pharos")
    if not any(getattr(h, "pharos", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.pharos = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    logger.propagate = False

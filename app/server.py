"""Running the app: which server `pharos serve` uses, and how.

Granian (a Rust HTTP server) is the default: on the render cache's hit path it answered about
1.8 times the requests per second of uvicorn with httptools and uvloop, at half the p99, in the
same run of bench/http_load.py (see Performance in the README). It serves over its own
protocol, RSGI (app.rsgi): hits are answered there in one call, everything else reaches the
ASGI app through app.rsgi's ASGI-over-RSGI server. `--server granian-asgi` serves over ASGI,
and uvicorn stays available with `--server uvicorn`.

Neither reads X-Forwarded-For/-Proto: the app does, from PHAROS_TRUSTED_PROXIES only, and only
well-formed addresses (app/web/origin.py).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from enum import StrEnum

import uvicorn
from fastapi import FastAPI
from granian import Granian
from granian.constants import Interfaces, Loops
from granian.log import LogLevels
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from app.rsgi import AsgiOverRsgi
from app.web import request_log
from app.web.render_cache import RenderCache

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ServerKind(StrEnum):
    """The servers `pharos serve` can run: granian over its own protocol RSGI (app.rsgi), or
    over ASGI; uvicorn."""

    granian = "granian"
    granian_asgi = "granian-asgi"
    uvicorn = "uvicorn"


def _die_with_parent() -> None:
    """Granian serves from child processes: one must not outlive a parent killed with -9.

    (A service manager kills the whole group anyway; a bare kill of the parent would leave a
    worker holding the port and running background loops.)
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before we asked
            os._exit(1)


def with_hit_path(app: FastAPI, inner: ASGIApp) -> ASGIApp:
    """Fresh render-cache hits answered before the framework (and `inner`) sees the request.

    About 10 % more requests/s on the hot path; everything else, misses included, goes
    through `inner` as usual.
    """

    cache: RenderCache | None = None  # the app makes it with its middleware, on first use

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal cache
        if cache is None:
            cache = getattr(app.state, "render_cache", None)
        # (the CORS headers of /api/v2 answers are cached with them: app.web.cors)
        if cache is not None and await cache.serve_hit(scope, send):
            return
        await inner(scope, receive, send)

    return serve


def granian_app() -> ASGIApp:
    """The app for the PHAROS_* environment, as each granian worker builds it."""
    _die_with_parent()
    settings = Settings()
    request_log.configure(settings.log_level)
    app = create_app(settings)
    return request_log.RequestLog(with_hit_path(app, app), trusted=settings.trusted_proxies)


def granian_rsgi_app() -> AsgiOverRsgi:
    """The app for the PHAROS_* environment over RSGI (app.rsgi), as each granian worker
    builds it: fresh render-cache hits answered in RSGI, everything else by the ASGI app."""
    _die_with_parent()
    settings = Settings()
    request_log.configure(settings.log_level)
    app = create_app(settings)
    requests = request_log.RequestLog(with_hit_path(app, app), trusted=settings.trusted_proxies)
    return AsgiOverRsgi(
        requests, cache=lambda: getattr(app.state, "render_cache", None), requests=requests
    )


def uvicorn_app() -> ASGIApp:
    """The app for the PHAROS_* environment, as each uvicorn worker builds it."""
    settings = Settings()
    request_log.configure(settings.log_level)
    app = create_app(settings)
    return request_log.RequestLog(with_hit_path(app, app), trusted=settings.trusted_proxies)


def run(settings: Settings, *, host: str, port: int, workers: int, kind: ServerKind) -> None:
    """Serve until stopped. Each worker process builds its app from the environment."""
    if kind is not ServerKind.uvicorn:
        level = settings.log_level.lower()
        rsgi = kind is ServerKind.granian
        Granian(
            "app.server:granian_rsgi_app" if rsgi else "app.server:granian_app",
            factory=True,
            address=host,
            port=port,
            interface=Interfaces.RSGI if rsgi else Interfaces.ASGI,
            workers=workers,
            loop=Loops.uvloop,
            log_level=LogLevels(level if level in LogLevels.__members__ else "info"),
            websockets=False,
            respawn_failed_workers=True,
        ).serve()
        return
    uvicorn.run(
        "app.server:uvicorn_app",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_level=settings.log_level,
        proxy_headers=False,  # the app reads them itself (app/web/origin.py: TrustedProxies)
        server_header=False,
        access_log=False,  # RequestLog writes one line per request, with its duration
    )

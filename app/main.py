"""The application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import brand, i18n, text
from app.admin.app import install as install_admin
from app.auth import service as auth
from app.cacheable import PublicPaths
from app.components.api import router as components_router
from app.config import Settings
from app.db import create_db_engine, read_session
from app.errors import PharosError, TooManyRequests
from app.fleet.api import router as fleet_router
from app.fleet.receiver import router as ocpi_router
from app.incidents.api import router as incidents_router
from app.maintenance.api import router as maintenance_router
from app.maintenance.scheduler import MaintenanceScheduler
from app.notifications.worker import DeliveryCounters, DeliveryWorker
from app.page import page_info
from app.probes.api import router as probes_router
from app.probes.exporter import ProbeCollector
from app.probes.runner import probe_loops
from app.publishing.export import SiteExporter
from app.subscribers import abuse
from app.subscribers.api import router as subscribers_router
from app.uptime.api import router as uptime_router
from app.web import api_docs, front_page, language, latency, links, openapi, topics, uptime_range
from app.web.badges import router as badges_router
from app.web.brand import router as brand_router
from app.web.cors import PublicApiCors
from app.web.embed import router as embed_router
from app.web.favicon import router as favicon_router
from app.web.feeds import router as feeds_router
from app.web.head import HeadAsGet
from app.web.limits import BodySizeLimit, RefuseNul
from app.web.metrics import build_registry
from app.web.metrics import router as metrics_router
from app.web.origin import AuditOrigin, RelativeRedirects, TrustedProxies
from app.web.pages import router as pages_router
from app.web.per_version import PerVersion
from app.web.reliability import router as reliability_router
from app.web.render_cache import RenderCache
from app.web.security import SecurityHeaders
from app.web.statuspage_v2 import router as statuspage_v2_router
from app.web.subscribe_people import router as subscribe_people_router
from app.web.subscriptions import router as subscriptions_router
from app.workers import Loop, Supervisor

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


async def _authenticated(request: Request) -> bool:
    """Whether the request carries a live staff API token."""
    scheme, _, plain = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not plain.strip():
        return False

    def check() -> bool:
        with read_session(request.app.state.engine) as session:
            return auth.is_live(session, plain.strip())

    return await asyncio.to_thread(check)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors, validation errors and HTTP errors as JSON (API) or a page (HTML)."""

    def page(request: Request, status: int, title: str, message: str) -> Response:
        templates: Jinja2Templates = request.app.state.templates
        settings: Settings = request.app.state.settings
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "page": page_info(settings, brand.current_from(request.app.state.engine, settings)),
                "title": title,
                "message": message,
            },
            status_code=status,
        )

    @app.exception_handler(PharosError)
    async def _domain(request: Request, exc: PharosError) -> Response:
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if _wants_json(request):
            return JSONResponse(
                {"detail": exc.message, "code": exc.code},
                status_code=exc.status_code,
                headers=headers,
            )
        title = (
            i18n.gettext("Not found")
            if exc.status_code == 404
            else i18n.gettext("Can't show this page")
        )
        answer = page(request, exc.status_code, title, exc.message)
        answer.headers.update(headers)
        return answer

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/v1/") and not await _authenticated(request):
            # The body is parsed before dependencies run: authenticate before judging it, so
            # nobody learns anything about the staff API without a token.
            return JSONResponse(
                {"detail": "missing or invalid bearer token", "code": "unauthorized"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        message = _validation_message(exc)
        in_path = all(e.get("loc", ("",))[0] == "path" for e in exc.errors())
        if not _wants_json(request) and in_path:  # /history.json: no such page, not bad input
            return page(request, 404, "Not found", "There is no page at this address.")
        if _wants_json(request):
            errors = [
                {k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()
            ]
            return JSONResponse(
                {"detail": errors, "message": message, "code": "validation_error"},
                status_code=422,
            )
        return page(request, 422, i18n.gettext("Invalid request"), message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        if _wants_json(request) or exc.status_code not in (404, 405):
            code = HTTP_CODES.get(exc.status_code, "http_error")
            return JSONResponse(
                {"detail": exc.detail, "code": code}, status_code=exc.status_code, headers=headers
            )
        if exc.status_code == 405:
            title = i18n.gettext("Can't show this page")
            message = f"This address answers {headers['Allow']} only."
        else:
            title = i18n.gettext("Not found")
            message = i18n.gettext("There is no page at this address.")
        answer = page(request, exc.status_code, title, message)
        answer.headers.update(headers)
        return answer


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method this path answers, for `Allow` (the router named only its first route's:
    `OPTIONS /api/v1/incidents` said `Allow: GET` although POST works too).

    A path the OpenAPI document names literally answers the methods documented for it
    (`/api/v1/subscribers/chat` is POST only, though GET there reaches
    `/api/v1/subscribers/{subscriber_id}` and says no such subscriber); any other path, each
    method the routes match as the router itself would."""
    documented = request.app.openapi().get("paths", {}).get(request.scope["path"])
    if documented:
        allowed = {m for m in METHODS if m.lower() in documented}
    else:
        allowed = {
            method
            for method in METHODS
            if any(
                route.matches(dict(request.scope, method=method))[0] is Match.FULL
                for route in request.app.router.routes
            )
        }
    if "GET" in allowed:
        allowed.add("HEAD")  # app.web.head answers HEAD wherever GET is answered
    return ", ".join(m for m in METHODS if m in allowed)


HEALTH_TIMEOUT_SECONDS = 2.0


async def database_health(engine: Engine) -> str:
    """ "ok", or why the database can't be used, within HEALTH_TIMEOUT_SECONDS."""

    def ping() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), HEALTH_TIMEOUT_SECONDS)
    except TimeoutError:
        return "down: no answer in time"
    except Exception as exc:  # any failure means down; the reason is for the operator
        return f"down: {type(exc).__name__}"
    return "ok"


def create_app(settings: Settings) -> FastAPI:
    """Build the service for these settings; nothing happens at import time."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        supervisor: Supervisor | None = app.state.supervisor
        cache: RenderCache | None = getattr(app.state, "render_cache", None)
        if cache is not None:
            await cache.start()
        # What exists now lives as long as the process: keep it out of the garbage collector's
        # full passes, which otherwise stall every other re-render (bench/render_scale.py).
        gc.freeze()
        if supervisor is not None:
            await supervisor.start()
        try:
            yield
        finally:
            if supervisor is not None:
                await supervisor.stop()
            if cache is not None:
                await cache.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title=f"{settings.page_name} status (Pharos)",
        version="0.1.0",
        description="Staff API (/api/v1, bearer token) of a Pharos status page.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own load from a CDN: app.web.api_docs serves /docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.per_version = PerVersion()  # parts of public answers shared within a version
    app.state.engine = engine = create_db_engine(settings.database_url)
    app.state.subscribe_throttle = abuse.subscribe_throttle(
        settings.subscribe_limit_per_address, settings.subscribe_limit_per_target
    )
    counters = DeliveryCounters()
    probes = probe_loops(engine, settings) if settings.run_workers else []
    loops: list[Loop] = [
        DeliveryWorker(engine, settings, metrics=counters),
        MaintenanceScheduler(engine, settings),
        *probes,
    ]
    if settings.export_dir is not None:
        poll = settings.worker_poll_seconds
        loops.append(SiteExporter(app, engine, settings.export_dir, poll_seconds=poll))
    app.state.supervisor = Supervisor(loops) if settings.run_workers else None
    app.state.metrics_registry = build_registry(
        engine,
        counters,
        app.state.supervisor,
        lambda: getattr(app.state, "render_cache", None),
    )
    app.state.metrics_registry.register(ProbeCollector(engine, probes))
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.globals["href"] = links.href
    templates.env.globals["kept_row"] = front_page.kept_row
    templates.env.filters["bdi"] = text.bdi
    templates.env.globals["href_language"] = links.href_language
    templates.env.globals["languages"] = [(c, i18n.language_name(c)) for c in i18n.LANGUAGES]
    templates.env.globals["language_prefix"] = links.language_prefix
    templates.env.globals["current_language"] = i18n.current
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.state.templates = templates
    install_error_handlers(app)
    app.add_middleware(HeadAsGet)  # innermost: routes see a GET, the answer loses its body
    app.add_middleware(RefuseNul)  # inside the size limit: it reads bodies whole
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AuditOrigin)
    app.add_middleware(RelativeRedirects)
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxies)
    app.add_middleware(language.LanguageRouting, default=settings.language)
    # Inside the render cache: its headers are part of every cached /api/v2 answer, so hits
    # and 304s carry them at no cost per request.
    app.add_middleware(PublicApiCors)
    if settings.render_cache:
        public = PublicPaths(app)
        # Outermost, so a cache hit skips everything else; renders go through the rest.
        app.add_middleware(
            RenderCache,
            engine=engine,
            public_url=settings.public_url,
            max_bytes=settings.render_cache_max_mb * 1024 * 1024,
            ttl_seconds=settings.render_cache_ttl_seconds,
            poll_seconds=settings.data_version_poll_seconds,
            is_cacheable=lambda path: public(language.split_prefix(path)[1]),
            uncached=lambda path, query: uptime_range.is_range_read(
                language.split_prefix(path)[1], query
            ),
            localize=lambda path, accept: language.cache_path(path, accept, settings.language),
            varies_by_language=lambda path: not path.startswith(language.NEUTRAL),
            shown_by=lambda path: topics.shown_by(language.split_prefix(path)[1]),
            on_create=lambda cache: setattr(app.state, "render_cache", cache),
        )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_docs.install(app)
    openapi.install(app)
    app.include_router(components_router)
    app.include_router(incidents_router)
    app.include_router(maintenance_router)
    app.include_router(subscribers_router)
    app.include_router(statuspage_v2_router)
    app.include_router(uptime_router)
    app.include_router(uptime_range.router)
    app.include_router(latency.router)
    app.include_router(latency.pages)
    app.include_router(probes_router)
    app.include_router(ocpi_router)
    app.include_router(fleet_router)
    app.include_router(feeds_router)
    app.include_router(badges_router)
    app.include_router(brand_router)
    app.include_router(embed_router)
    app.include_router(favicon_router)
    app.include_router(pages_router)
    app.include_router(reliability_router)
    app.include_router(subscriptions_router)
    app.include_router(subscribe_people_router)  # after: /subscriptions/{token} is a catch-all
    install_admin(app)

    app.include_router(metrics_router)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        """Readiness: the database answers and no background loop is dead or stalled (503 if
        not, so a load balancer sends readers elsewhere). The public pages keep serving their
        last good bytes meanwhile."""
        supervisor: Supervisor | None = request.app.state.supervisor
        workers = supervisor.health() if supervisor is not None else {}
        database = await database_health(request.app.state.engine)
        ok = database == "ok" and all(w["alive"] and not w["stalled"] for w in workers.values())
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "database": database, "workers": workers},
            status_code=200 if ok else 503,
        )

    @app.get("/livez", tags=["health"])
    def livez() -> JSONResponse:
        """Liveness: the process answers (restart it only if this fails; a database outage
        is /healthz's business)."""
        return JSONResponse({"status": "ok"})

    return app

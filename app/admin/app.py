"""Mount the admin UI on the application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.admin import (
    routes_access,
    routes_auth,
    routes_brand,
    routes_components,
    routes_fleet,
    routes_incidents,
    routes_maintenance,
    routes_postmortems,
    routes_probes,
    routes_subscribers,
    routes_templates,
)
from app.admin.deps import AdminResponse


def install(app: FastAPI) -> None:
    """Add the /admin routes and the handler that answers their redirects and refusals."""

    async def answer(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AdminResponse)
        return exc.response

    app.add_exception_handler(AdminResponse, answer)
    for module in (
        routes_auth,
        routes_incidents,
        routes_postmortems,
        routes_templates,
        routes_components,
        routes_maintenance,
        routes_probes,
        routes_fleet,
        routes_subscribers,
        routes_access,
        routes_brand,
    ):
        app.include_router(module.router)

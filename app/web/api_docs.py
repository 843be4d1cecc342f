"""/docs: Swagger UI for the staff API, served from this machine (no CDN), under the pages' CSP.

The Swagger UI bundle comes from the fastapi-offline package (a Python wheel that ships its
files); the page itself is ours: no inline script, so the strict Content-Security-Policy of
every other page holds here too, and the docs work without internet.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over /openapi.json."""
    title = escape(f"{request.app.title} - API")
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" href="{ASSETS_PATH}/favicon.png">
</head>
<body>
<noscript><p>The interactive documentation needs JavaScript. The OpenAPI document is at
<a href="/openapi.json">/openapi.json</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="{escape(request.app.openapi_url or "/openapi.json")}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""
    )


def install(app: FastAPI) -> None:
    """Serve /docs and its assets (FastAPI's own /docs and /redoc load from a CDN: keep them
    off with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
    app.include_router(router)

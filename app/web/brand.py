"""/brand.css: the operator's accent colour and optional style sheet, after the page's own."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.cacheable import PublicRoute
from app.config import Settings

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


def brand_css(settings: Settings) -> str:
    """The accent as the page's link and focus colour, then the operator's CSS file."""
    parts = []
    if settings.brand_accent:
        parts.append(f":root {{ --link: {settings.brand_accent}; }}")
    if settings.brand_css_file is not None:
        parts.append(settings.brand_css_file.read_text(encoding="utf-8"))
    return "\n".join(parts) + "\n"


@router.get("/brand.css")
def brand(request: Request) -> Response:
    """The brand's style sheet (empty without an accent or a CSS file)."""
    return Response(brand_css(request.app.state.settings), media_type="text/css; charset=utf-8")

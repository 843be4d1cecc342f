"""/favicon.ico: browsers ask the site's root for it whatever the page links, so it is served
there too (pages link /static/favicon.svg and /static/favicon.ico). Cached like every public
answer (render cache, ETag) and by browsers for a week."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

from app.cacheable import PublicRoute

ICON = Path(__file__).resolve().parent.parent.parent / "static" / "favicon.ico"
router = APIRouter(tags=["public pages"], route_class=PublicRoute, include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> Response:
    """The site icon (a lighthouse), 32 x 32."""
    return Response(
        ICON.read_bytes(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=604800"},
    )

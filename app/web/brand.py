"""/brand.css: the operator's accent colour and optional style sheet, after the page's own."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.brand import Brand, current
from app.cacheable import PublicRoute
from app.web.reader import ReaderDep

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


def brand_css(brand: Brand) -> str:
    """The accent as the page's link and focus colour, then the operator's style sheet."""
    parts = []
    if brand.accent:
        parts.append(f":root {{ --link: {brand.accent}; }}")
    if brand.css:
        parts.append(brand.css)
    return "\n".join(parts) + "\n"


@router.get("/brand.css")
def brand(r: ReaderDep) -> Response:
    """The brand's style sheet (empty without an accent or a style sheet): as staff set it in
    the admin UI, else as configured."""
    css = brand_css(current(r.session, r.settings))
    return Response(css, media_type="text/css; charset=utf-8")

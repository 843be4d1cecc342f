"""/brand.css: the operator's accent colour and optional style sheet, after the page's own."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.brand import Brand, current
from app.cacheable import PublicRoute
from app.contrast import accent_shades
from app.web.reader import ReaderDep

router = APIRouter(tags=["public pages"], include_in_schema=False, route_class=PublicRoute)


def brand_css(brand: Brand) -> str:
    """The accent as the page's link and button colour, in each colour scheme a shade with
    4.5:1 contrast against its backgrounds (app.contrast); then the operator's style sheet."""
    parts = []
    if brand.accent:
        light, dark = accent_shades(brand.accent)
        parts.append(f":root {{ --link: {light}; }}")
        parts.append(f"@media (prefers-color-scheme: dark) {{ :root {{ --link: {dark}; }} }}")
    if brand.css:
        parts.append(brand.css)
    return "\n".join(parts) + "\n"


@router.get("/brand.css")
def brand(r: ReaderDep) -> Response:
    """The brand's style sheet (empty without an accent or a style sheet): as staff set it in
    the admin UI, else as configured."""
    css = brand_css(current(r.session, r.settings))
    return Response(css, media_type="text/css; charset=utf-8")

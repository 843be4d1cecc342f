"""The page's brand (logos, favicon, accent colour, title, footer links, style sheet): admins
only; each empty field falls back to its PHAROS_BRAND_* configuration."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app import brand
from app.admin.deps import PREFIX, Admin, AdminPost, Screen, done
from app.admin.flow import FormState, form_page, kept, submit
from app.admin.forms import FormValues

router = APIRouter(prefix=PREFIX, include_in_schema=False)
FIELDS = tuple(brand.BrandForm.model_fields)


def _stored_values(screen: Screen) -> FormValues:
    row = brand.stored(screen.session)
    if row is None:
        return FormValues()
    values = {field: getattr(row, field) or "" for field in FIELDS if field != "footer_links"}
    values["footer_links"] = "\n".join(f"{label}|{url}" for label, url in row.footer_links)
    return FormValues.of(**values)


def _brand_page(screen: Screen, shown: FormState) -> HTMLResponse:
    configured = brand.effective(screen.settings, None)
    return form_page(
        screen,
        "admin/brand.html",
        shown,
        configured=configured,
        configured_links="\n".join(f"{label}|{url}" for label, url in configured.footer_links),
        css_max=brand.CSS_MAX_BYTES,
    )


@router.get("/brand")
def brand_page(screen: Admin) -> HTMLResponse:
    """The brand form, with what is stored (empty fields: the configured values)."""
    return _brand_page(screen, kept(screen, _stored_values(screen)))


@router.post("/brand")
def save_brand(post: AdminPost) -> Response:
    """Store the brand; the public pages are re-rendered with it."""
    fields = {field: post.form.get(field) for field in FIELDS}
    return submit(
        post,
        lambda: brand.save(
            post.session,
            brand.BrandForm.model_validate(fields),
            actor=post.actor,
            now=post.clock(),
        ),
        page=lambda shown: _brand_page(post, shown),
        then=lambda _: done(f"{PREFIX}/brand", "saved"),
    )

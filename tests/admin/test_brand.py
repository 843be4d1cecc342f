"""The brand in the admin UI: admins set it, the public pages show it at once (the render cache
re-renders), empty fields fall back to configuration, bad input is refused field by field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.brand import CSS_MAX_BYTES
from app.db import unit_of_work
from app.models import AuditEvent, BrandSetting, UserRole
from tests.admin.conftest import SignIn, field_error, post_form, soup

BRAND = {
    "title": "Voltra charging status",
    "logo_url": "https://cdn.example.com/voltra.svg",
    "logo_dark_url": "/static/voltra-dark.svg",
    "favicon_url": "https://cdn.example.com/voltra.ico",
    "accent": "#0A6E5C",
    "footer_links": "Support|https://voltra.example.com/support\nPrivacy|/privacy",
    "custom_css": ".banner { border-radius: 0; background: url(https://cdn.example.com/a.png); }",
}


def _public(client: TestClient, path: str = "/") -> Any:
    response = client.get(path)
    assert response.status_code == 200, path
    return soup(response)


def test_an_admin_sets_the_brand_and_the_pages_show_it(
    signed_in: SignIn, client: TestClient, engine: Engine
) -> None:
    before = _public(client)  # cached now: the save must re-render it
    assert before.select_one("header a.brand img") is None
    admin = signed_in(UserRole.admin)
    assert admin.get("/admin/brand").status_code == 200
    response = post_form(admin, "/admin/brand", BRAND, follow_redirects=False)
    assert response.status_code == 303, response.text

    for path in ("/", "/history/", "/de/"):
        page = _public(client, path)
        logo = page.select_one("header a.brand picture img")
        assert logo is not None and logo["src"] == BRAND["logo_url"], path
        assert logo["alt"] == BRAND["title"]
        dark = page.select_one("header a.brand picture source")
        assert dark is not None and dark["srcset"] == BRAND["logo_dark_url"]
        icon = page.select_one("link[rel=icon]")
        assert icon is not None and icon["href"] == BRAND["favicon_url"]
        links = [(a.get_text(), a["href"]) for a in page.select(".footer-links a")]
        assert links == [("Support", "https://voltra.example.com/support"), ("Privacy", "/privacy")]
        assert page.select_one("link[href$='brand.css']") is not None
    assert _public(client).title.get_text() == BRAND["title"]
    css = client.get("/brand.css").text
    assert ":root { --link: #0a6e5c; }" in css and BRAND["custom_css"] in css

    # The form shows what is stored; the change is in the audit log.
    form = soup(admin.get("/admin/brand"))
    field = form.select_one("input[name=accent]")
    assert field is not None and field["value"] == "#0a6e5c"
    with unit_of_work(engine) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "brand.updated"))
        assert event.actor == "user:admin0@example.com" and "accent" in event.data["changed"]


def test_empty_fields_fall_back_to_configuration(
    settings: Any, signed_in: SignIn, client: TestClient
) -> None:
    settings.brand_title = "Configured title"
    settings.brand_accent = "#123456"
    admin = signed_in(UserRole.admin)
    post_form(admin, "/admin/brand", {**BRAND, "title": "", "accent": ""}).raise_for_status()
    page = _public(client)
    assert page.title.get_text() == "Configured title"
    assert ":root { --link: #123456; }" in client.get("/brand.css").text
    hint = soup(admin.get("/admin/brand")).select_one("#title-hint")
    assert hint is not None and "Configured: Configured title" in hint.get_text()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("accent", "teal", "#rrggbb"),
        ("accent", "#12345", "#rrggbb"),
        # pale on white: the ratio it has, what it needs, a darker shade that has it
        ("accent", "#FF6600", "#ff6600 has 2.73:1 contrast against the page's light background"),
        ("accent", "#ffcc00", "need at least 4.5:1 (WCAG AA). A darker shade such as #"),
        ("accent", "#7f8c8d", "has 3.24:1"),  # a grey with 3:1 (enough for a line) but not 4.5:1
        ("logo_url", "http://cdn.example.com/logo.svg", "https://"),
        ("logo_url", "javascript:alert(1)", "https://"),
        ("favicon_url", "//evil.example.com/x.ico", "https://"),
        ("footer_links", "Support|javascript:alert(1)", "http(s)://"),
        ("footer_links", "no bar here", "Label|https://url"),
        ("custom_css", "@import url(https://evil.example.com/x.css);", "@import"),
        ("custom_css", "@font-face { src: url(/f.woff2); }", "@font-face"),
        ("custom_css", "a { background: url(http://x.example.com/a.png) }", "a.png): use https"),
        ("custom_css", "a { width: expression(alert(1)) }", "expression()"),
        ("custom_css", "a{}" * (CSS_MAX_BYTES // 3 + 1), "bytes of CSS"),
    ],
)
def test_bad_input_is_refused_by_its_field_and_nothing_is_stored(
    signed_in: SignIn, engine: Engine, field: str, value: str, says: str
) -> None:
    admin = signed_in(UserRole.admin)
    response = post_form(admin, "/admin/brand", {**BRAND, field: value})
    assert response.status_code == 422
    assert says in field_error(soup(response), field)
    with unit_of_work(engine) as session:
        assert session.get(BrandSetting, 1) is None


def test_only_admins_set_the_brand(signed_in: SignIn, engine: Engine) -> None:
    editor = signed_in(UserRole.editor)
    assert editor.get("/admin/brand").status_code == 403
    assert post_form(editor, "/admin/brand", BRAND).status_code == 403
    with unit_of_work(engine) as session:
        assert session.get(BrandSetting, 1) is None

"""The brand set in the admin UI, in a real headless Chromium against a real `pharos serve`:
refused colours (not #rrggbb; too pale on white, with its ratio), the saved brand on the public
page (logo, dark logo, accent colour and its lighter dark-scheme shade, footer link, style
sheet) with no Content-Security-Policy violation and no axe-core contrast violation, in both
colour schemes at 375 and 1280 px.

Screenshots go to $PHAROS_SCREENSHOT_DIR when set (for people to look at).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.contrast import accent_shades, rgb
from tests.admin.browsing import ARGS, CHROMIUM, console_errors, serving_with_user, shoot, sign_in
from tests.serving import Server
from tests.web.test_browser import axe, contrast_violations

__all__ = ["axe"]  # axe-core's browser build, a fixture of the public pages' browser tests
ACCENT = "#7a1fa2"  # a purple: 7.7:1 on white, 1.97:1 on the dark scheme's background

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one admin."""
    with serving_with_user(tmp_path_factory.mktemp("browser-brand"), "admin") as (running, _):
        yield running


def test_set_the_brand_and_see_it_on_the_page(server: Server, tmp_path: Path, axe: str) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_context(base_url=server.url).new_page()
            problems = console_errors(page)
            sign_in(page, "/admin/brand")

            page.get_by_label("Page title").fill("Voltra charging status")
            page.get_by_label("Logo", exact=True).fill("/static/favicon.svg")
            page.get_by_label("Logo for a dark colour scheme").fill("/static/favicon.ico")
            page.get_by_label("Accent colour").fill("purple")  # refused: #rrggbb
            page.get_by_label("Footer links").fill("Support|https://voltra.example.com/help")
            page.get_by_label("Style sheet").fill(".banner { letter-spacing: 3px; }")
            page.get_by_role("button", name="Save brand").click()
            page.get_by_text("write the colour as #rrggbb").wait_for()
            shoot(page, "admin-brand-refused", tmp_path)
            page.get_by_label("Accent colour").fill("#ffb000")  # amber: unreadable on white
            page.get_by_role("button", name="Save brand").click()
            page.get_by_text("#ffb000 has 1.7:1 contrast against the page's light").wait_for()
            shoot(page, "admin-brand-refused-contrast", tmp_path)
            page.get_by_label("Accent colour").fill(ACCENT)
            page.get_by_role("button", name="Save brand").click()
            page.get_by_text("Saved.").wait_for()
            shoot(page, "admin-brand", tmp_path)
            # The refused form's page is answered 422 on purpose; nothing else may fail.
            assert [p for p in problems if "status of 422" not in p] == []

            shades = dict(zip(("light", "dark"), accent_shades(ACCENT), strict=True))
            assert shades["light"] == ACCENT and shades["dark"] != ACCENT
            for scheme, logo in (("light", "favicon.svg"), ("dark", "favicon.ico")):
                public = browser.new_context(
                    base_url=server.url,
                    color_scheme=scheme,
                    bypass_csp=True,  # axe-core is injected as a script
                ).new_page()
                public_problems = console_errors(public)
                public.goto("/subscribe")  # buttons in the accent, --on-fill text on them
                button = public.locator(".subscribe-form button").first
                background = button.evaluate("b => getComputedStyle(b).backgroundColor")
                assert background == "rgb({}, {}, {})".format(*rgb(shades[scheme]))
                for width in (375, 1280):
                    public.set_viewport_size({"width": width, "height": 900})
                    assert contrast_violations(public, axe) == [], (scheme, width)
                shoot(public, f"public-brand-subscribe-{scheme}", tmp_path)
                public.goto("/")
                image = public.locator("header a.brand img")
                assert image.get_attribute("alt") == "Voltra charging status"
                public.wait_for_function("document.querySelector('header a.brand img').complete")
                current = image.evaluate("img => img.currentSrc")
                assert current.endswith(logo), (scheme, current)
                assert image.evaluate("img => img.naturalWidth") > 0
                link = public.get_by_role("link", name="Support")
                assert link.get_attribute("href") == "https://voltra.example.com/help"
                colour = public.evaluate("getComputedStyle(document.querySelector('main a')).color")
                assert colour == "rgb({}, {}, {})".format(*rgb(shades[scheme])), (scheme, colour)
                border = public.evaluate(
                    "getComputedStyle(document.querySelector('.banner h1')).letterSpacing"
                )
                assert border == "3px"
                for width in (375, 1280):
                    public.set_viewport_size({"width": width, "height": 900})
                    assert contrast_violations(public, axe) == [], (scheme, width)
                shoot(public, f"public-brand-{scheme}", tmp_path)
                assert public_problems == [], public_problems  # no CSP violation
        finally:
            browser.close()

"""The brand set in the admin UI, in a real headless Chromium against a real `pharos serve`:
a refused colour, the saved brand on the public page (logo, dark logo, accent colour, footer
link, style sheet) with no Content-Security-Policy violation, at 375 and 1280 px.

Screenshots go to $PHAROS_SCREENSHOT_DIR when set (for people to look at).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.net import free_port
from tests.admin.test_browser import ARGS, CHROMIUM, EMAIL, PASSWORD
from tests.admin.test_browser_probes import shoot
from tests.serving import PHAROS, Server, pharos_env, start, stop

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one admin."""
    tmp = tmp_path_factory.mktemp("browser-brand")
    port = free_port()
    env = pharos_env(tmp / "browser.db", f"http://127.0.0.1:{port}")
    created = subprocess.run(
        [str(PHAROS), "users", "create", EMAIL, "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    running = start(env, port, tmp)
    try:
        yield running
    finally:
        stop(running.process)


def _problems(page: Any) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda m: (
            found.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith(".ico")
            else None
        ),
    )
    return found


def test_set_the_brand_and_see_it_on_the_page(server: Server, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_context(base_url=server.url).new_page()
            problems = _problems(page)
            page.goto("/admin/brand")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/admin/brand")

            page.get_by_label("Page title").fill("Voltra charging status")
            page.get_by_label("Logo", exact=True).fill("/static/favicon.svg")
            page.get_by_label("Logo for a dark colour scheme").fill("/static/favicon.ico")
            page.get_by_label("Accent colour").fill("purple")  # refused: #rrggbb
            page.get_by_label("Footer links").fill("Support|https://voltra.example.com/help")
            page.get_by_label("Style sheet").fill(".banner { letter-spacing: 3px; }")
            page.get_by_role("button", name="Save brand").click()
            page.get_by_text("write the colour as #rrggbb").wait_for()
            shoot(page, "admin-brand-refused", tmp_path)
            page.get_by_label("Accent colour").fill("#7a1fa2")
            page.get_by_role("button", name="Save brand").click()
            page.get_by_text("Saved.").wait_for()
            shoot(page, "admin-brand", tmp_path)
            # The refused form's page is answered 422 on purpose; nothing else may fail.
            assert [p for p in problems if "status of 422" not in p] == []

            for scheme, logo in (("light", "favicon.svg"), ("dark", "favicon.ico")):
                public = browser.new_context(base_url=server.url, color_scheme=scheme).new_page()
                public_problems = _problems(public)
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
                assert colour == "rgb(122, 31, 162)", (scheme, colour)
                border = public.evaluate(
                    "getComputedStyle(document.querySelector('.banner h1')).letterSpacing"
                )
                assert border == "3px"
                shoot(public, f"public-brand-{scheme}", tmp_path)
                assert public_problems == [], public_problems  # no CSP violation
        finally:
            browser.close()

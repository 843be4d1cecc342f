"""Fleet areas from the admin UI in a real headless Chromium against a real `pharos serve`:
add an area, see it listed, change it, delete it; no sideways scrolling at 375 or 1280 px.

Screenshots at 375 and 1280 px go to $PHAROS_SCREENSHOT_DIR when set (for people to look at).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin.browsing import ARGS, CHROMIUM, console_errors, serving_with_user, shoot, sign_in
from tests.serving import Server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one editor."""
    with serving_with_user(tmp_path_factory.mktemp("browser-fleet"), "editor") as (running, _):
        yield running


def test_add_change_and_delete_an_area(server: Server, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_context(base_url=server.url).new_page()
            problems = console_errors(page)
            sign_in(page, "/admin/fleet/areas")

            page.get_by_label("Name", exact=True).fill("Oslo")
            page.get_by_label("Component").fill("Oslo chargers")
            page.get_by_label("Cities").fill("Oslo, Bærum")
            page.get_by_label("Degraded from").fill("0.6")  # above partial: refused
            page.get_by_role("button", name="Add area").click()
            page.get_by_text("Thresholds must rise").wait_for()
            shoot(page, "fleet-areas-refused", tmp_path)
            page.get_by_label("Degraded from").fill("0.1")
            page.get_by_role("button", name="Add area").click()
            page.get_by_text("Saved.").wait_for()
            assert page.url.split("?")[0].endswith("/admin/fleet/areas/Oslo")
            shoot(page, "fleet-area", tmp_path)

            page.get_by_label("Cities").fill("Oslo")
            page.get_by_role("button", name="Save area").click()
            page.get_by_text("Saved.").wait_for()
            page.goto("/admin/fleet/areas")
            row = page.locator("table.area-list tbody tr", has_text="Oslo chargers")
            assert "Cities: Oslo" in row.inner_text() and "Bærum" not in row.inner_text()
            shoot(page, "fleet-areas", tmp_path)

            page.goto("/admin/fleet/areas/Oslo")
            page.get_by_role("link", name="Delete").click()
            page.get_by_role("button", name="Delete Oslo").click()
            page.get_by_text("No areas yet.").wait_for()
            # The refused form's page is answered 422 on purpose; nothing else may fail.
            assert [p for p in problems if "status of 422" not in p] == []
        finally:
            browser.close()

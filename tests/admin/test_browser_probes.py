"""Probes from the admin UI in a real headless Chromium against a real `pharos serve` and a
real OCPP 2.0.1 central system on loopback: create, pause, resume and run a probe.

Screenshots at 375 and 1280 px go to $PHAROS_SCREENSHOT_DIR when set (for people to look at).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.csms import CentralSystem
from tests.admin.browsing import ARGS, CHROMIUM, console_errors, serving_with_user, shoot, sign_in
from tests.serving import Server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def csms() -> Iterator[CentralSystem]:
    with CentralSystem(version="2.0.1") as system:
        yield system


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one editor."""
    with serving_with_user(tmp_path_factory.mktemp("browser-probes"), "editor") as (running, _):
        yield running


def test_create_pause_and_run_a_probe(server: Server, csms: CentralSystem, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_context(base_url=server.url).new_page()
            problems = console_errors(page)
            sign_in(page, "/admin/probes")

            page.get_by_label("Name", exact=True).fill("csms-201")
            page.get_by_label("Kind").select_option("ocpp201")
            page.get_by_label("Component").fill("Cloud Services (OCPP 2.0.1)")
            page.get_by_label("URL").fill(csms.ws_url)
            page.get_by_label("Charge point ids").fill("PHAROS-PROBE-1 PHAROS-PROBE-2")
            page.get_by_label("Interval").fill("1h")
            page.get_by_label("Timeout").fill("5s")
            page.get_by_label("More settings (TOML, as in the probes file)").fill(
                "[propagation]\n"
                f'url = "{csms.http_url}/chargers/{{charge_point_id}}"\n'
                'json_pointer = "/last_event/tech_info"\ntimeout = "3s"\n'
            )
            shoot(page, "probes-new", tmp_path)
            page.get_by_role("button", name="Add probe").click()
            page.get_by_text("Saved.").wait_for()
            assert page.url.split("?")[0].endswith("/admin/probes/csms-201")

            page.get_by_role("button", name="Pause").click()
            page.get_by_text("Probe paused").wait_for()
            assert "Paused" in page.inner_text(".probe-state")
            page.get_by_role("button", name="Resume").click()
            page.get_by_text("Probe resumed.").wait_for()

            page.get_by_role("button", name="Run now").click()
            page.get_by_text("Probe run: its result is the newest below.").wait_for()
            newest = page.locator(".probe-result").first
            assert "Operational" in newest.inner_text()
            assert "notify_event" in newest.inner_text()
            assert "propagation" in newest.inner_text()
            shoot(page, "probe-after-run", tmp_path)

            page.goto("/admin/probes")
            row = page.locator("table.probe-list tbody tr", has_text="csms-201")
            assert "Here" in row.inner_text()
            shoot(page, "probes-list", tmp_path)
            page.goto("/admin/")
            shoot(page, "dashboard", tmp_path)
            assert problems == []
        finally:
            browser.close()

"""Probes from the admin UI in a real headless Chromium against a real `pharos serve` and a
real OCPP 2.0.1 central system on loopback: create, pause, resume and run a probe.

Screenshots at 375 and 1280 px go to $PHAROS_SCREENSHOT_DIR when set (for people to look at).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.csms import CentralSystem
from peers.net import free_port
from tests.admin.test_browser import ARGS, CHROMIUM, EMAIL, PASSWORD
from tests.serving import PHAROS, Server, pharos_env, start, stop

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def csms() -> Iterator[CentralSystem]:
    with CentralSystem(version="2.0.1") as system:
        yield system


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one editor."""
    tmp = tmp_path_factory.mktemp("browser-probes")
    port = free_port()
    env = pharos_env(tmp / "browser.db", f"http://127.0.0.1:{port}")
    created = subprocess.run(
        [str(PHAROS), "users", "create", EMAIL, "--role", "editor", "--password-stdin"],
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


def shoot(page: Any, name: str, tmp_path: Path) -> None:
    """Full-page screenshots at a phone's and a desktop's width."""
    where = Path(os.environ.get("PHAROS_SCREENSHOT_DIR", str(tmp_path)))
    where.mkdir(parents=True, exist_ok=True)
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(where / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {width} px"


def test_create_pause_and_run_a_probe(server: Server, csms: CentralSystem, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            page = browser.new_context(base_url=server.url).new_page()
            problems: list[str] = []
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and not m.location.get("url", "").endswith(".ico")
                    else None
                ),
            )
            page.goto("/admin/probes")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/admin/probes")

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

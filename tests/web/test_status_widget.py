"""Atlassian's own embeddable widget (@statuspage/status-widget, from npm) keeps working
against the page: another site loads it in Chromium, it reads /api/v2/summary.json across
origins from a real `pharos serve`, and shows the page's status as Statuspage's would.

The widget is installed from npm into a cache folder the first time; the test skips, saying
why, without Chromium, Playwright or npm.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop

CHROMIUM = Path("/usr/bin/chromium")
NPM_CACHE = Path(tempfile.gettempdir()) / "pharos-test-npm"
WIDGET = "@statuspage/status-widget@1"

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
        "to run the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def widget() -> Path:
    """The widget's browser build (dist/index.js), installed from npm once."""
    script = NPM_CACHE / "node_modules" / "@statuspage" / "status-widget" / "dist" / "index.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"no npm to install {WIDGET} from (apt-get install npm)")
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), WIDGET],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not script.exists():
            pytest.skip(f"npm could not install {WIDGET}: {done.stderr[-500:]}")
    return script


@pytest.fixture
def portal(tmp_path: Path, widget: Path) -> Iterator[tuple[str, Path]]:
    """Another site on loopback (another origin than the status page) serving the widget."""
    folder = tmp_path / "portal"
    folder.mkdir()
    shutil.copy(widget, folder / "status-widget.js")
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def _shown(page: Any, appearance: str) -> tuple[str, str]:
    """(indicator class, text) a widget of this appearance shows (Playwright's CSS locators
    reach into the widget's shadow DOM)."""
    widget = page.locator(f"statuspage-widget[appearance={appearance}]")
    indicator = widget.locator(".status-indicator")
    indicator.wait_for(state="attached", timeout=15_000)
    text = widget.locator(".status-container").inner_text()
    classes = (indicator.get_attribute("class") or "").split()
    return next(c for c in classes if c != "status-indicator"), " ".join(text.split())


def test_statuspage_widget_shows_the_page_status_from_another_site(
    portal: tuple[str, Path], tmp_path: Path
) -> None:
    site, folder = portal
    port = free_port()
    env = pharos_env(tmp_path / "widget.db", f"http://127.0.0.1:{port}", log_level="warning")
    server: Server = start(env, port, tmp_path)
    try:
        token = create_token(env)
        staff = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=staff) as api:
            c = api.post("/api/v1/components", json={"name": "OCPP gateway"}).json()
            incident = api.post(
                "/api/v1/incidents",
                json={
                    "name": "Delays processing charger status updates",
                    "body": "Investigating.",
                    "components": {c["id"]: "major_outage"},
                },
            ).json()
            summary = httpx.get(f"{server.url}/api/v2/summary.json").json()
        assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
        (folder / "index.html").write_text(
            "<!doctype html><html><head><title>Operator portal</title>"
            '<script src="/status-widget.js"></script></head><body><h1>Operator portal</h1>'
            f'<statuspage-widget src="{server.url}" appearance="basic"></statuspage-widget>'
            f'<statuspage-widget src="{server.url}" appearance="badge" title="Charging">'
            "</statuspage-widget></body></html>"
        )
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page: Any = browser.new_context().new_page()
                problems: list[str] = []
                # (the widget's bundle itself throws "parcelRequire is not defined" once it has
                # defined its element: a page error of its own, not a console error)
                page.on(
                    "console",
                    lambda m: (
                        problems.append(m.text)
                        if m.type == "error" and not m.location.get("url", "").endswith(".ico")
                        else None
                    ),
                )
                page.goto(f"{site}/")
                assert _shown(page, "basic") == ("critical", "Major System Outage")
                assert _shown(page, "badge") == (
                    "critical",
                    "Charging major system outage",
                )  # its CSS lowercases
                link = page.locator("statuspage-widget[appearance=basic] a")
                assert link.get_attribute("href") == server.url

                with httpx.Client(base_url=server.url, headers=staff) as api:
                    api.post(
                        f"/api/v1/incidents/{incident['id']}/updates",
                        json={
                            "status": "resolved",
                            "body": "Resolved.",
                            "components": {c["id"]: "operational"},
                        },
                    ).raise_for_status()
                # A new visitor (the widget keeps an answer 30 s within a page, and the browser
                # may reuse the API's answer for max-age=10 and revalidate it stale later):
                visitor: Any = browser.new_context().new_page()
                visitor.goto(f"{site}/")
                assert _shown(visitor, "basic") == ("none", "All Systems Operational")
                assert problems == []
            finally:
                browser.close()
    finally:
        stop(server.process)

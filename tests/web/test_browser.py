"""The public pages in a real headless Chromium against a real `pharos serve` on loopback: the
front, incident, history and uptime pages in three languages, both colour schemes, at 375 and
1280 px, each checked for colour contrast by axe-core (from npm) and screenshotted.

Debian's /usr/bin/chromium driven by Playwright's Python package (no browser download); axe-core
is installed from npm into a cache folder the first time. The tests skip, saying why, when
there is no Chromium or no npm to get axe-core from. Screenshots go to $PHAROS_SCREENSHOTS if
set, else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
AXE_CACHE = Path(tempfile.gettempdir()) / "pharos-test-npm"
LANGUAGES = ("en", "de", "fi")
WIDTHS = (375, 1280)

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
        "to run the browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def axe() -> str:
    """axe-core's browser build, installed from npm once into a cache folder."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("no npm to install axe-core from (apt-get install npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_CACHE), "axe-core@4"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not script.exists():
            pytest.skip(f"npm could not install axe-core: {done.stderr[-500:]}")
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """`pharos serve` with a group, showcased components, an active incident, a resolved one
    with a postmortem and an upcoming maintenance."""
    tmp = tmp_path_factory.mktemp("public-browser")
    port = free_port()
    env = pharos_env(tmp / "pages.db", f"http://127.0.0.1:{port}", log_level="warning")
    running = start(env, port, tmp)
    token = create_token(env)
    made: dict[str, str] = {}
    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {token}"}) as api:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = api.post(path, json=body)
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        cloud = post("/api/v1/components", {"name": "Charging cloud", "group": True})
        ocpp = post("/api/v1/components", {"name": "OCPP 1.6J", "group_id": cloud["id"]})
        post("/api/v1/components", {"name": "Charger status updates", "group_id": cloud["id"]})
        api_c = post("/api/v1/components", {"name": "Public API"})
        post("/api/v1/components", {"name": "Mobile app"})
        now = datetime.now(UTC)
        old = post(
            "/api/v1/incidents",
            {
                "name": "Start commands delayed",
                "status": "investigating",
                "body": "Start commands reach chargers late.",
                "components": {api_c["id"]: "major_outage"},
                "display_at": (now - timedelta(days=3)).isoformat(),
            },
        )
        update = {
            "status": "resolved",
            "body": "Fixed.",
            "display_at": (now - timedelta(days=3) + timedelta(hours=2)).isoformat(),
        }
        assert api.post(f"/api/v1/incidents/{old['id']}/updates", json=update).status_code == 201
        body = {"body": "## What happened\n\nA stalled message processor.\n"}
        assert api.put(f"/api/v1/incidents/{old['id']}/postmortem", json=body).status_code == 200
        assert api.post(f"/api/v1/incidents/{old['id']}/postmortem/publish").status_code == 200
        made["incident"] = post(
            "/api/v1/incidents",
            {
                "name": "Delays processing charger status updates",
                "status": "identified",
                "body": "Status updates from chargers are **delayed**. We found the cause.",
                "components": {ocpp["id"]: "partial_outage"},
            },
        )["id"]
        post(
            "/api/v1/maintenances",
            {
                "name": "Database upgrade",
                "body": "The portal is read-only during the upgrade.",
                "scheduled_for": (now + timedelta(days=2)).isoformat(),
                "scheduled_until": (now + timedelta(days=2, hours=2)).isoformat(),
                "component_ids": [api_c["id"]],
            },
        )
        # A probe of the page's own health endpoint, charted publicly (two runs, now).
        probe = {
            "name": "status-api",
            "kind": "http",
            "component": "Status API",
            "url": f"{running.url}/healthz",
            "interval": "1h",
            "public_latency": True,
        }
        post("/api/v1/probes", probe)
        for _ in range(2):
            assert api.post("/api/v1/probes/status-api/run").status_code == 200
        listed = api.get("/api/v2/components.json").json()["components"]
        made["latency"] = next(c["id"] for c in listed if c["name"] == "Status API")
        made["range"] = f"from={(now - timedelta(days=400)).date()}&to={now.date()}"
    try:
        yield running, made
    finally:
        stop(running.process)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    folder = os.environ.get("PHAROS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


def contrast_violations(page: Any, axe: str) -> list[str]:
    """axe-core's colour-contrast findings on the page, one line each."""
    page.add_script_tag(content=axe)
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: ['color-contrast']});
            return r.violations.flatMap(v => v.nodes.map(n => n.target.join(' ') + ': ' +
                n.failureSummary.replace(/\\s+/g, ' ')));
        }"""
    )
    return list(found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_pages_in_three_languages_pass_the_contrast_check(
    site: tuple[Server, dict[str, str]],
    chromium: Any,
    axe: str,
    shots: Path,
    scheme: str,
    width: int,
) -> None:
    server, made = site
    context = chromium.new_context(
        viewport={"width": width, "height": 900},
        color_scheme=scheme,
        bypass_csp=True,  # axe-core is injected as a script; the page itself runs none
    )
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    try:
        for language in LANGUAGES:
            prefix = "" if language == "en" else f"/{language}"
            for name, path in (
                ("front", "/"),
                ("incident", f"/incidents/{made['incident']}/"),
                ("history", "/history/"),
                ("uptime", "/uptime/"),
                ("range", f"/uptime/?{made['range']}"),
                ("latency", f"/components/{made['latency']}/latency/"),
            ):
                answer = page.goto(server.url + prefix + path)
                assert answer is not None and answer.status == 200, (prefix, path)
                assert page.evaluate("document.documentElement.lang") == language
                page.screenshot(path=str(shots / f"{name}-{language}-{scheme}-{width}.png"))
                found = contrast_violations(page, axe)
                if found:
                    problems[f"{prefix}{path}"] = found
    finally:
        context.close()
    assert problems == {}


@pytest.mark.parametrize(("width", "days"), [(375, 30), (1280, 90)])
def test_a_phone_shows_30_days_and_a_bar_tells_its_day_on_focus(
    site: tuple[Server, dict[str, str]], chromium: Any, width: int, days: int
) -> None:
    server, made = site
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        row = page.locator("li.component", has_text="OCPP 1.6J")
        # the days drawn: each element is as many days as its gN class says
        drawn = row.locator(".uptime-bars").evaluate(
            """bars => [...bars.querySelectorAll('i, a, b')]
                .filter(e => e.getBoundingClientRect().width > 0)
                .reduce((n, e) => n + Number(([...e.classList].find(c => /^g\\d+$/.test(c))
                    || 'g1').slice(1)), 0)"""
        )
        assert drawn == days
        legend = row.locator(".uptime-from:visible")
        assert legend.inner_text() == f"{days} days ago"
        today = row.locator(".uptime-bars > a").last  # today: the active incident's day
        tip = today.locator(".tip")
        assert not tip.is_visible()
        today.focus()
        assert tip.is_visible()
        assert "Incident: Delays processing charger status updates" in tip.inner_text()
        assert today.get_attribute("href") == f"incidents/{made['incident']}/"
    finally:
        context.close()

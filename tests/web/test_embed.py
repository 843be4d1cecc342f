"""The status embed: /embed/ and /embed.js, framed only by the origins the operator lists;
loaded from another origin in Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from peers.net import free_port
from tests.conftest import make_component, open_incident
from tests.serving import Server, create_token, pharos_env, start, stop

CHROMIUM = Path("/usr/bin/chromium")


def test_the_embed_shows_the_status_and_what_is_going_on(
    staff: TestClient, client: TestClient
) -> None:
    c = make_component(staff, name="OCPP")
    incident = open_incident(staff, name="Delays", components={c["id"]: "partial_outage"})
    answer = client.get("/embed/")
    assert answer.status_code == 200
    page = BeautifulSoup(answer.text, "html.parser")
    status = page.select_one(".embed-status")
    assert status is not None and status.get_text() == "Partial System Outage"
    link = page.select_one(".embed-incident a")
    assert link is not None and link.get_text() == "Delays"
    assert link["href"] == f"https://status.example.com/incidents/{incident['id']}/"
    base = page.select_one("base")
    assert base is not None and base["target"] == "_blank"  # links leave the frame
    # no origin listed: nobody may frame it
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    german = BeautifulSoup(client.get("/de/embed/").text, "html.parser").select_one(".embed-status")
    assert german is not None and german.get_text() == "Teilweiser Systemausfall"
    script = client.get("/embed.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "embed/" in script.text


def test_listed_origins_may_frame_it(settings: Settings, engine: object) -> None:
    allowed = settings.model_copy(
        update={"embed_origins": "https://portal.example.com, https://app.example.com:8443"}
    )
    with TestClient(create_app(allowed)) as client:
        answer = client.get("/embed/")
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors https://portal.example.com https://app.example.com:8443" in policy
        assert "x-frame-options" not in answer.headers
        # every other page still refuses to be framed
        front = client.get("/")
        assert "frame-ancestors 'none'" in front.headers["content-security-policy"]
        assert front.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("origins", ["portal.example.com", "https://x.example.com/path", "*"])
def test_a_bad_origin_is_refused(origins: str) -> None:
    with pytest.raises(ValidationError):
        Settings(embed_origins=origins)


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Two other sites on loopback (other origins than the status page), serving tmp_path."""
    servers = []
    for _ in range(2):
        handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield (
        f"http://127.0.0.1:{servers[0].server_address[1]}",
        f"http://127.0.0.1:{servers[1].server_address[1]}",
        tmp_path,
    )
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
def test_another_site_embeds_the_status_with_the_script(
    hosts: tuple[str, str, Path], tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    allowed, other, folder = hosts
    port = free_port()
    env = pharos_env(tmp_path / "embed.db", f"http://127.0.0.1:{port}", log_level="warning")
    env["PHAROS_EMBED_ORIGINS"] = allowed
    server: Server = start(env, port, tmp_path)
    try:
        token = create_token(env)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
            c = api.post("/api/v1/components", json={"name": "OCPP"}).json()
            api.post(
                "/api/v1/incidents",
                json={"name": "Delays", "body": "x", "components": {c["id"]: "major_outage"}},
            ).raise_for_status()
        (folder / "portal.html").write_text(
            "<!doctype html><html><body><h1>Operator portal</h1>"
            f'<script src="{server.url}/embed.js" data-lang="fr"></script></body></html>'
        )
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page: Any = browser.new_page()
                page.goto(f"{allowed}/portal.html")
                frame = page.frame_locator("iframe")
                assert frame.locator(".embed-status").inner_text() == "Panne majeure du système"
                assert frame.locator(".embed-incident a").inner_text() == "Delays"
                # a site not listed gets the iframe, but the browser refuses to show the page
                page.goto(f"{other}/portal.html")
                page.wait_for_timeout(1500)
                assert page.locator("iframe").count() == 1
                shown = []
                for child in page.frames[1:]:
                    try:
                        shown.append(child.evaluate("!!document.querySelector('.embed-status')"))
                    except sync_api.Error:  # the browser's error page
                        shown.append(False)
                assert shown and not any(shown)
            finally:
                browser.close()
    finally:
        stop(server.process)

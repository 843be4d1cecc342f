"""The admin UI in a real headless Chromium against a real `pharos serve` on loopback.

Debian's /usr/bin/chromium driven by Playwright's Python package (no browser download). The
tests skip, saying why, only when there is no Chromium to drive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.admin.browsing import (
    ARGS,
    CHROMIUM,
    EMAIL,
    PASSWORD,
    console_errors,
    serving_with_user,
    sign_in,
)
from tests.serving import Server, create_token

POSTMORTEM = """## What happened

Two message-processing instances stalled; status updates from chargers queued up.

## Action items

- Alert on message processing rates
"""

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` with one editor and two components."""
    with serving_with_user(tmp_path_factory.mktemp("browser"), "editor") as (running, env):
        token = create_token(env)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=running.url, headers=headers) as api:
            for name in ("OCPP 1.6J", "Charger status updates"):
                assert api.post("/api/v1/components", json={"name": name}).status_code == 201
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        yield browser
        browser.close()


def test_incident_from_sign_in_to_published_postmortem(server: Server, chromium: Any) -> None:
    context = chromium.new_context(base_url=server.url)
    page = context.new_page()
    problems = console_errors(page)
    sign_in(page, "/admin/incidents/new")  # signed out: to the sign-in page and back after

    page.get_by_label("Incident name").fill("Delays processing charger status updates")
    page.get_by_label("Investigating").check()
    page.get_by_label("Message").fill("Status updates from chargers are delayed.")
    page.get_by_label("OCPP 1.6J (now Operational)").select_option("partial_outage")
    page.get_by_label("Charger status updates (now Operational)").select_option("major_outage")
    page.get_by_role("button", name="Open incident").click()
    page.get_by_text("Incident opened.").wait_for()
    incident_url = page.url.split("?")[0]
    incident_id = incident_url.rsplit("/", 1)[1]

    page.get_by_label("Monitoring").check()
    page.get_by_label("Message").fill("A fix is deployed; we are monitoring.")
    page.get_by_label("Charger status updates (now Major Outage)").select_option("operational")
    page.get_by_role("button", name="Post update").click()
    page.get_by_text("Update posted.").wait_for()
    assert "Charger status updates: Major Outage → Operational" in page.inner_text("main")

    page.get_by_label("Resolved").check()
    page.get_by_label("Message").fill("This incident has been resolved.")
    page.get_by_role("button", name="Post update").click()
    page.get_by_text("Update posted.").wait_for()

    page.get_by_role("link", name="postmortem").click()
    page.get_by_label("Postmortem (Markdown)").fill(POSTMORTEM)
    # The live preview (progressive JavaScript) renders with the public page's renderer.
    page.locator("#live-preview h4", has_text="What happened").wait_for()
    page.get_by_label("Notify subscribers when publishing").uncheck()
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Postmortem published.").wait_for()

    public = context.new_page()
    public.goto(f"/incidents/{incident_id}")
    text = public.inner_text("main")
    assert "Two message-processing instances stalled" in text
    assert "A fix is deployed; we are monitoring." in text
    assert "Monitoring" in text and "Resolved" in text
    assert problems == []  # no CSP violations, failed loads or script errors
    context.close()


def test_phone_width_without_javascript(server: Server, chromium: Any) -> None:
    context = chromium.new_context(
        base_url=server.url, viewport={"width": 375, "height": 740}, java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/admin/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # keyboard only
    page.wait_for_url("**/admin/")
    for path in ("/admin/", "/admin/incidents/new", "/admin/components", "/admin/audit"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
    page.goto("/admin/incidents/new")
    page.get_by_role("button", name="Open incident").click()  # empty: errors, no JS needed
    assert page.locator(".field-error").count() >= 2
    assert page.get_by_label("Incident name").get_attribute("aria-invalid") == "true"
    context.close()


def test_api_docs_render_from_this_host_under_the_csp(server: Server, chromium: Any) -> None:
    """/docs draws Swagger UI with nothing fetched from another host (works offline) and no
    Content-Security-Policy violation."""
    context = chromium.new_context(base_url=server.url)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.url) else elsewhere.append(r.url),
    )
    problems = console_errors(page)
    page.goto("/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() > 20  # every operation of the staff API
    assert page.get_by_text("/api/v1/incidents/{incident_id}").first.is_visible()
    assert elsewhere == []
    assert problems == []
    context.close()

"""What the admin UI's browser tests share: Debian's Chromium, a `pharos serve` with one
staff user, signing in, console errors and screenshots.

Importing this skips the importing test module, saying why, when there is no Chromium.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from peers.net import free_port
from tests.serving import PHAROS, Server, pharos_env, start, stop

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL, PASSWORD = "oncall@example.com", "a long enough password"

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
        "to run the browser tests",
        allow_module_level=True,
    )


@contextmanager
def serving_with_user(tmp: Path, role: str) -> Iterator[tuple[Server, dict[str, str]]]:
    """`pharos serve` on a new database with one staff user (EMAIL, PASSWORD) of `role`;
    yields the server and its environment (for further `pharos` commands)."""
    port = free_port()
    env = pharos_env(tmp / "browser.db", f"http://127.0.0.1:{port}")
    created = subprocess.run(
        [str(PHAROS), "users", "create", EMAIL, "--role", role, "--password-stdin"],
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
        yield running, env
    finally:
        stop(running.process)


def console_errors(page: Any) -> list[str]:
    """The page's console errors from now on, as they come; the browser's own favicon.ico
    probe 404s, which is no problem of ours."""
    found: list[str] = []
    page.on(
        "console",
        lambda m: (
            found.append(f"{m.text} at {m.location}")
            if m.type == "error" and not m.location.get("url", "").endswith(".ico")
            else None
        ),
    )
    return found


def sign_in(page: Any, path: str) -> None:
    """Open `path` signed out, sign in on the page it leads to, and be back at `path`."""
    page.goto(path)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def shoot(page: Any, name: str, tmp_path: Path) -> None:
    """Full-page screenshots at a phone's and a desktop's width."""
    where = Path(os.environ.get("PHAROS_SCREENSHOT_DIR", str(tmp_path)))
    where.mkdir(parents=True, exist_ok=True)
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(where / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {width} px"

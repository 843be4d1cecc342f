"""`pharos export DIR`: the whole public site as static files, for any web server or CDN.

The pages are rendered by the real app in-process, so the files are the bytes the live service
serves. Pages are folders (/incidents/abc/ -> incidents/abc/index.html) and link each other
relatively, so the copy works from any base URL. The export starts from the front page, the
feeds, the JSON API and the badges, follows every relative link, and fails on a broken one.

A static host takes no form posts: parts of a page marked `data-live-only` (following an
incident by email) are left out of the copy; the header's Subscribe link leads to the live
service (PHAROS_PUBLIC_URL) already.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app import data_version
from app.db import read_only

log = logging.getLogger("pharos.export")

ORIGIN = "http://pharos.export"  # never contacted: requests go to the app in-process
SEEDS = (
    "/",
    "/history/",
    "/uptime/",
    "/badge.svg",
    "/history.atom",
    "/history.rss",
    "/updates.atom",
    "/updates.rss",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
)
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
# A page's parts that need the live service (a form that posts), as our templates mark them.
LIVE_ONLY = re.compile(rb"<section\b[^>]*\bdata-live-only\b[^>]*>.*?</section>\s*", re.DOTALL)


class ExportError(Exception):
    """A page of the site could not be exported (a broken link, an error answer)."""


@dataclass
class RenderedSite:
    """Site path -> bytes, and the links that were left out (they answered no page)."""

    pages: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ExportReport:
    """What an export wrote (site path -> file, in path order) and the links it left out."""

    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


class _Links(HTMLParser):
    """Collects the href and src attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and tag in ("a", "link", "img", "script"):
                self.found.append(value)


def file_for(path: str) -> str:
    """The file a site path is written to: folders get their index.html."""
    relative = path.lstrip("/")
    return f"{relative}index.html" if path.endswith("/") else relative


def site_links(page_path: str, html: str) -> list[str]:
    """Site paths a page links to (same site, no fragment); external links are left out."""
    parser = _Links()
    parser.feed(html)
    base = f"{ORIGIN}{page_path}"
    out = []
    for link in parser.found:
        url, _ = urldefrag(urljoin(base, link))
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == ORIGIN and not parts.query:
            out.append(parts.path)
    return out


async def _crawl(client: httpx.AsyncClient, beat: Callable[[], None]) -> RenderedSite:
    """Every page reachable from the seeds, each path fetched once.

    A seed that fails fails the export. A link that answers no page (say a root-relative link
    in a postmortem's Markdown) is left out and reported; the pages' own links all resolve.
    """
    listed = await _get(client, "/api/v2/components.json")
    site = RenderedSite(pages={"/api/v2/components.json": listed.content})
    seeds = list(SEEDS)
    for c in listed.json()["components"]:
        seeds += [f"/components/{c['id']}/badge.svg", f"/components/{c['id']}/history.atom"]
        seeds.append(f"/components/{c['id']}/history.rss")
        if not c["group"]:
            seeds.append(f"/api/v2/components/{c['id']}/uptime.json")
    seeds += sorted(f"/static/{p.relative_to(STATIC_DIR)}" for p in STATIC_DIR.rglob("*.*"))
    queue: deque[tuple[str, str | None]] = deque((path, None) for path in seeds)
    seen = set(site.pages)
    while queue:
        path, referrer = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = await (client.get(path) if referrer else _get(client, path))
        beat()
        if response.status_code != 200:
            site.skipped.append(f"{path} (linked from {referrer}): {response.status_code}")
            continue
        site.pages[path] = response.content
        if response.headers.get("content-type", "").startswith("text/html"):
            site.pages[path] = LIVE_ONLY.sub(b"", response.content)
            queue.extend((link, path) for link in site_links(path, response.text))
    return site


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path)
    if response.status_code != 200:
        raise ExportError(f"GET {path} answered {response.status_code}")
    return response


async def render_site(app: FastAPI, beat: Callable[[], None] = lambda: None) -> RenderedSite:
    """The whole public site, rendered by the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        return await _crawl(client, beat)


def export_site(app: FastAPI, directory: Path) -> ExportReport:
    """Render the site and replace `directory` with it. The same data gives the same bytes."""
    return write_site(asyncio.run(render_site(app)), directory)


def write_site(site: RenderedSite, directory: Path) -> ExportReport:
    """Replace `directory` with the site; the old copy stays until the new one is complete."""
    directory = directory.resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    report = ExportReport(skipped=site.skipped)
    try:
        for path in sorted(site.pages):
            target = staging / file_for(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(site.pages[path])
            report.files[path] = directory / file_for(path)
        staging.chmod(0o755)
        if directory.exists():
            old = directory.with_name(f".{directory.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


class SiteExporter:
    """Background loop of `pharos serve` (PHAROS_EXPORT_DIR): exports the site after every
    change, and every REFRESH seconds anyway since the days and uptime figures move on."""

    name = "site-export"
    REFRESH = 300.0

    def __init__(self, app: FastAPI, engine: Engine, directory: Path, *, poll_seconds: float):
        self.app, self.engine, self.directory, self.poll = app, engine, directory, poll_seconds

    def _last_change(self) -> object:
        return data_version.read(read_only(self.engine))  # moves with every public change

    async def run(self, beat: Callable[[], None]) -> None:
        """Look for changes every poll interval, forever."""
        exported: object = None
        exported_at = float("-inf")
        while True:
            beat()
            try:
                change = await asyncio.to_thread(self._last_change)
                stale = time.monotonic() - exported_at > self.REFRESH
                if change != exported or stale:
                    site = await render_site(self.app, beat)
                    await asyncio.to_thread(write_site, site, self.directory)
                    exported, exported_at = change, time.monotonic()
            except Exception:  # a broken page or a full disk must not end the loop
                log.exception("static export to %s failed; retrying", self.directory)
            await asyncio.sleep(self.poll)

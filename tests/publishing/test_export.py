"""`pharos export`: relative links, deterministic files, the same bytes as the live service,
and a plain static file server on loopback serving the copy."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from app import i18n
from app.auth import service as auth
from app.clock import get_clock
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.publishing.export import export_site, file_for, site_links
from app.web.links import relative
from peers.net import free_port
from tests import serving
from tests.conftest import FakeClock, make_component, open_incident

EXAMPLE = Path(__file__).resolve().parents[2] / "incidents"
FROZEN = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "current", "link"),
    [
        ("/", "/", "./"),
        ("/incidents/abc/", "/", "incidents/abc/"),
        ("/", "/incidents/abc/", "../../"),
        ("/static/style.css", "/history/2/", "../../static/style.css"),
        ("/history/2/#month-2025-09", "/uptime/", "../history/2/#month-2025-09"),
        ("/history/", "/history/2/", "../"),
        ("/history/", "/history/", "./"),
        ("/history.atom", "/incidents/abc", "../history.atom"),  # a page without its slash
        ("https://example.com/x", "/", "https://example.com/x"),
    ],
)
def test_relative_links(target: str, current: str, link: str) -> None:
    assert relative(target, current) == link
    if target.startswith("/"):  # the link leads to the target under any base URL
        assert (
            urljoin(f"https://cdn.example/copy{current}", link)
            == f"https://cdn.example/copy{target}"
        )


def test_file_names_and_links() -> None:
    assert file_for("/") == "index.html"
    assert file_for("/incidents/abc/") == "incidents/abc/index.html"
    assert file_for("/api/v2/summary.json") == "api/v2/summary.json"
    html = '<a href="../x/#y">x</a><a href="https://e.com/">e</a><link href="s.css"><a href="?p=2">'
    assert site_links("/incidents/abc/", html) == ["/incidents/x/", "/incidents/abc/s.css"]


@pytest.fixture
def frozen(app: FastAPI) -> FastAPI:
    """The app with a clock that does not move, so two renders can be compared."""
    app.dependency_overrides[get_clock] = lambda: lambda: FROZEN
    return app


@pytest.fixture
def site(staff: TestClient) -> dict[str, str]:
    """Components, a resolved incident with a postmortem, an open one and a maintenance."""
    group = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J", group_id=group["id"])
    done = open_incident(staff, name="Delays", components={ocpp["id"]: "partial_outage"})
    staff.post(f"/api/v1/incidents/{done['id']}/updates", json={"status": "resolved", "body": "Ok"})
    staff.put(f"/api/v1/incidents/{done['id']}/postmortem", json={"body": "## Root cause\n\nA."})
    staff.post(f"/api/v1/incidents/{done['id']}/postmortem/publish")
    live = open_incident(staff, name="Remote start fails", components={ocpp["id"]: "major_outage"})
    maintenance = staff.post(
        "/api/v1/maintenances",
        json={
            "name": "Broker upgrade",
            "body": "Chargers may reconnect once.",
            "component_ids": [ocpp["id"]],
            "scheduled_for": "2025-10-26T02:30:00+02:00",
            "scheduled_until": "2025-10-26T02:30:00+01:00",
        },
    )
    assert maintenance.status_code == 201, maintenance.text
    return {
        "group": group["id"],
        "ocpp": ocpp["id"],
        "done": done["id"],
        "live": live["id"],
        "maintenance": maintenance.json()["id"],
    }


def tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_export_is_the_whole_site_deterministic_and_the_live_bytes(
    frozen: FastAPI, site: dict[str, str], tmp_path: Path
) -> None:
    assert export_site(frozen, tmp_path / "one").skipped == []  # every link leads to a page
    (tmp_path / "one" / "stale.html").write_text("from an older export")
    export_site(frozen, tmp_path / "one")  # replaces the folder: the stale file goes
    export_site(frozen, tmp_path / "two")
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert one == two  # same data, same bytes
    expected = {
        "index.html",
        "history/index.html",
        "uptime/index.html",
        f"incidents/{site['done']}/index.html",
        f"incidents/{site['live']}/index.html",
        f"maintenance/{site['maintenance']}/index.html",
        "api/v2/summary.json",
        "api/v2/status.json",
        "api/v2/components.json",
        "api/v2/incidents.json",
        "api/v2/incidents/unresolved.json",
        "api/v2/scheduled-maintenances.json",
        "api/v2/scheduled-maintenances/upcoming.json",
        "api/v2/scheduled-maintenances/active.json",
        f"api/v2/components/{site['ocpp']}/uptime.json",
        "history.atom",
        "history.rss",
        "updates.atom",
        "updates.rss",
        f"components/{site['ocpp']}/history.atom",
        f"components/{site['group']}/history.rss",
        "badge.svg",
        f"components/{site['ocpp']}/badge.svg",
        "static/style.css",
    }
    assert expected <= set(one), expected - set(one)
    assert "stale.html" not in one
    # Every file is what the live service answers at that path, byte for byte.
    with TestClient(frozen) as client:
        for name, body in one.items():
            path = "/" + name.removesuffix("index.html")
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 200, path
            assert response.content == body, path


def test_a_change_changes_the_export(
    frozen: FastAPI, site: dict[str, str], staff: TestClient, tmp_path: Path
) -> None:
    export_site(frozen, tmp_path / "before")
    staff.post(
        f"/api/v1/incidents/{site['live']}/updates",
        json={"status": "resolved", "body": "Remote start works again."},
    )
    export_site(frozen, tmp_path / "after")
    before, after = tree(tmp_path / "before"), tree(tmp_path / "after")
    page = f"incidents/{site['live']}/index.html"
    assert b"Remote start works again." not in before[page]
    assert b"Remote start works again." in after[page]
    assert before["static/style.css"] == after["static/style.css"]


def test_links_in_markdown_that_lead_nowhere_are_left_out_not_fatal(
    frozen: FastAPI, site: dict[str, str], staff: TestClient, tmp_path: Path
) -> None:
    body = "See [history](/history) and [this](../nowhere/).\n\n## Root cause\n\nA."
    done = site["done"]
    staff.put(f"/api/v1/incidents/{done}/postmortem", json={"body": body})
    staff.post(f"/api/v1/incidents/{done}/postmortem/publish")
    report = export_site(frozen, tmp_path / "site")
    # every language's copy of the report has the same two links (a root-relative one
    # leaves the language; a relative one stays in it)
    assert sorted(report.skipped) == sorted(
        [
            f"/history (linked from /incidents/{done}/): 307",
            f"/incidents/nowhere/ (linked from /incidents/{done}/): 404",
            *(
                f"/{code}/incidents/nowhere/ (linked from /{code}/incidents/{done}/): 404"
                for code in i18n.LANGUAGES
            ),
        ]
    )
    assert f"/de/incidents/{done}/" in report.files
    assert f"/incidents/{done}/" in report.files


def test_the_copy_has_no_form_a_static_host_cannot_take(
    settings: Settings, engine: Engine, site: dict[str, str], tmp_path: Path
) -> None:
    """With email on, an open incident's live page offers following it by email; the static
    copy (any language) leaves that form out, and keeps the rest of the page."""
    with_mail = settings.model_copy(
        update={"smtp_url": SecretStr("smtp://127.0.0.1:9"), "mail_from": "status@zaptec.example"}
    )
    app = create_app(with_mail)
    app.dependency_overrides[get_clock] = lambda: lambda: FROZEN
    with TestClient(app) as client:
        live = client.get(f"/incidents/{site['live']}/").text
    assert 'name="incident_id"' in live and 'method="post"' in live
    export_site(app, tmp_path / "copy")
    pages = {n: b for n, b in tree(tmp_path / "copy").items() if n.endswith(".html")}
    page = f"incidents/{site['live']}/index.html"
    assert page in pages and f"de/{page}" in pages
    for name, body in pages.items():
        assert BeautifulSoup(body, "html.parser").find("form", method="post") is None, name
    copy = BeautifulSoup(pages[page], "html.parser")
    assert copy.find("h1") is not None and "Remote start fails" in copy.get_text()
    assert copy.find(id="follow-heading") is None


# --- end to end: the copy on a plain static file server next to the live service ----------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`pharos serve` and `python -m http.server` on the folder `pharos export` wrote."""
    env = serving.pharos_env(tmp_path / "e2e.db", "https://status.example.com")
    serving.pharos(env, "sync", "--create-components", str(EXAMPLE))
    live = serving.start(env, free_port(), tmp_path)
    static: subprocess.Popen[bytes] | None = None
    try:
        token = serving.create_token(env)
        auth = {"Authorization": f"Bearer {token}"}
        components = httpx.get(f"{live.url}/api/v1/components", headers=auth).json()
        opened = httpx.post(
            f"{live.url}/api/v1/incidents",
            headers=auth,
            json={
                "name": "Remote start fails",
                "body": "Remote start commands time out.",
                "components": {components[0]["id"]: "major_outage"},
                "display_at": "2025-09-30T10:00:00+02:00",
            },
        )
        assert opened.status_code == 201, opened.text
        out = tmp_path / "site"
        export = subprocess.run(
            [str(serving.PHAROS), "export", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert export.returncode == 0, export.stderr
        port = free_port()
        static = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=out,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        static_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{static_url}/", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the static server did not start"
                time.sleep(0.1)
        yield live.url, static_url, out
    finally:
        if static is not None:
            serving.stop(static)
        serving.stop(live.process)


TODAYS_BAR = re.compile(rb"<span class=tip>[^<]*</span>(</a></div>|</b></div>)")
CALENDAR_DAY = re.compile(
    rb'title="[^"]*" data-date="([0-9-]+)"(.*?)<span class="visually-hidden">[^<]*'
)


# A percentage as any shipped locale writes it: "99.98%", "99,98 %" (no-break or narrow
# no-break space), "100 %".
PERCENT = re.compile(rb"\d+(?:[.,]\d+)?(?:\xc2\xa0|\xe2\x80\xaf)?%")


def todays_cells_masked(body: bytes) -> bytes:
    """The page without what runs on with the clock between the export and the request: an
    open incident's "N min of major outage" in today's bar and calendar cell, and the uptime
    percentages that count those minutes (a 30-day figure moves by 0.01 every 4 minutes of
    major outage, so a slow run crossed one now and then)."""
    body = PERCENT.sub(b"N%", body)
    body = TODAYS_BAR.sub(rb"<span class=tip>today</span>\1", body)
    dates = CALENDAR_DAY.findall(body)
    if not dates:
        return body
    today = max(day for day, _ in dates)
    return CALENDAR_DAY.sub(
        lambda m: (
            b'title="" data-date="%s"%s<span class="visually-hidden">' % (m[1], m[2])
            if m[1] == today
            else m[0]
        ),
        body,
    )


def _range_rows(response: httpx.Response) -> list[tuple[str, ...]]:
    """Which rows and periods a range export holds, without their figures."""
    if response.headers["content-type"].startswith("text/csv"):
        return [tuple(line.split(",")[:6]) for line in response.text.splitlines()]
    body = response.json()
    return [(body["first_day"], body["last_day"])] + [
        (row["id"], *(p["period"] for p in row["months"])) for row in body["components"]
    ]


def test_the_static_copy_serves_what_the_live_service_does(
    served: tuple[str, str, Path],
) -> None:
    live, static, folder = served
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert "incidents" in {f.split("/")[0] for f in files}
    with httpx.Client() as http:
        for name in files:
            path = "/" + name.removesuffix("index.html")
            copy = http.get(f"{static}{path}")
            original = http.get(f"{live}{path}")
            assert (copy.status_code, original.status_code) == (200, 200), path
            if name.endswith(("api/v2/uptime.json", "api/v2/uptime.csv")):
                # The default range's exports: today's minutes run on with the clock too.
                assert _range_rows(copy) == _range_rows(original), path
            elif name.endswith("/uptime.json"):
                # Today's seconds run on with the clock between the export and this request.
                assert copy.json()["days"][:-1] == original.json()["days"][:-1], path
                assert copy.json()["uptime_percent"] == original.json()["uptime_percent"], path
            else:
                assert todays_cells_masked(copy.content) == todays_cells_masked(original.content), (
                    path
                )
        # Every page links to every language and the same navigation: each distinct target
        # is fetched once (the first page that links it is named if it fails).
        checked: set[str] = set()
        for name in files:
            if not name.endswith(".html"):
                continue
            page_url = f"{static}/{name.removesuffix('index.html')}"
            soup = BeautifulSoup(http.get(page_url).text, "html.parser")
            links = [str(a["href"]) for a in soup.select("a[href], link[href]")]
            for link in links:
                url = urljoin(page_url, link).split("#")[0]
                if not url.startswith(static):
                    continue  # the Subscribe link and feed discovery go to the public URL
                assert urlsplit(url).path.startswith("/"), url
                if url in checked:
                    continue
                checked.add(url)
                assert http.get(url).status_code == 200, f"{name}: {link} -> {url}"


def wait_for(path: Path, text: str, deadline: float = 20.0) -> bytes:
    """The file's bytes once it exists and holds `text`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists() and text.encode() in (body := path.read_bytes()):
            return body
        time.sleep(0.05)
    pytest.fail(f"{path} did not get {text!r} in time")


def test_serve_keeps_a_static_copy_up_to_date(
    settings: Settings, engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    app = create_app(
        settings.model_copy(
            update={"run_workers": True, "export_dir": copy, "worker_poll_seconds": 0.05}
        )
    )
    app.dependency_overrides[get_clock] = lambda: clock
    with unit_of_work(engine) as session:
        _, token = auth.create_token(session, name="exporter", now=clock())
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        wait_for(copy / "index.html", "All Systems Operational")  # exported at start
        incident = open_incident(client, name="Chargers offline")
        page = wait_for(copy / "incidents" / incident["id"] / "index.html", "Chargers offline")
        assert page == client.get(f"/incidents/{incident['id']}/").content
        wait_for(copy / "api/v2/incidents/unresolved.json", incident["id"])
        assert client.get("/healthz").json()["workers"]["site-export"]["alive"]

"""End to end: `pharos serve` in a subprocess, the Zaptec OCPP incident of 2025-09-07 replayed.

The staff API is driven over real HTTP on loopback, with the back-dated times of the real
incident, and the public pages are read back the way a Statuspage customer would read them.
The server and the replay are shared by this module's tests, which only read afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from bs4 import BeautifulSoup, Tag

from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop

TZ = ZoneInfo("Europe/Oslo")

INCIDENT_NAME = "Delays in processing charging events"
INVESTIGATING = (
    "We've received reports of delays starting and stopping charge sessions. We are investigating."
)
MONITORING = (
    "We are no longer receiving reports of the issue. It appears to be resolved. "
    "We will continue to monitor for one hour."
)
RESOLVED = "This incident has been resolved."
POSTMORTEM = """\
**Post-Incident Review: OCPP 1.6J Cloud Partial Instability on September 7, 2025**

On September 7, 2025, we experienced a partial service disruption that affected our OCPP 1.6J \
Cloud platform. This incident resulted in delayed status updates and command processing for a \
portion of connected chargers. We want to provide a transparent overview of what happened, how \
we responded, and the steps we are taking to prevent this from happening again.

## Timeline of Events

- 09:14: We received the first report of status updates not being received from chargers.
- 09:18: Our engineering team immediately began investigating the issue.
- 09:38: The root cause was identified: two message-processing instances were stalled.
- 09:39: Our team restarted the affected components, and messages immediately began processing \
again.
- 11:04: After a period of monitoring, we confirmed that all systems were fully operational and \
stable.
- 12:45: The incident was officially declared resolved.

## Next Steps and Mitigation

Reliability is a top priority for us. To prevent a recurrence of this incident, we are taking \
the following actions:

- **Enhanced Alerting:** We are immediately improving our monitoring systems to include \
real-time alerts on message processing rates. This will allow us to detect and address similar \
issues proactively before they impact service.
- **System Resilience Review:** We are conducting a thorough investigation into why our \
automated self-healing systems did not prevent this disruption. We will strengthen these \
systems to ensure they respond correctly in the future.

We thank you for your patience and understanding. We are committed to learning from this \
incident and continuously improving the stability and performance of our platform.
"""

STARTED_AT = "2025-09-07T11:12:00+02:00"
MONITORING_AT = "2025-09-07T11:35:00+02:00"
RESOLVED_AT = "2025-09-07T12:39:00+02:00"
PUBLISHED_AT = "2025-09-08T13:56:00+02:00"


@dataclass(frozen=True)
class Replay:
    """Ids created by replaying the incident."""

    incident_id: str
    group_id: str
    ocpp_id: str
    portal_id: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pharos serve` on a free loopback port and a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    running = start(pharos_env(tmp / "e2e.db", f"http://127.0.0.1:{port}"), port, tmp)
    try:
        yield running
    finally:
        stop(running.process)


@pytest.fixture(scope="module")
def staff(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client carrying a token made with `pharos tokens create`."""
    headers = {"Authorization": f"Bearer {create_token(server.env)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10.0) as client:
        yield client


@pytest.fixture(scope="module")
def public(server: Server) -> Iterator[httpx.Client]:
    """An anonymous HTTP client, as a customer's browser."""
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


def call(
    client: httpx.Client, method: str, path: str, body: object = None, *, expect: int = 200
) -> Any:
    """One staff API request that must answer `expect`; returns the JSON body."""
    response = client.request(method, path, json=body)
    assert response.status_code == expect, f"{method} {path}: {response.text}"
    return response.json()


def make_component(client: httpx.Client, name: str, **fields: object) -> str:
    """Create a component (or a group) and return its id."""
    created = call(client, "POST", "/api/v1/components", {"name": name, **fields}, expect=201)
    component_id: str = created["id"]
    return component_id


def page(client: httpx.Client, path: str) -> BeautifulSoup:
    """A public HTML page, parsed."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path}: {response.text}"
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def one(scope: BeautifulSoup | Tag, css: str) -> Tag:
    """The single element matching a CSS selector."""
    found = scope.select(css)
    assert len(found) == 1, f"{css!r} matched {len(found)} elements"
    return found[0]


def text(tag: Tag) -> str:
    """An element's text with whitespace collapsed, as a reader sees it."""
    return " ".join(tag.get_text().split())


def position(soup: BeautifulSoup, tag: Tag) -> int:
    """Where an element is in document order."""
    return next(i for i, element in enumerate(soup.find_all(True)) if element is tag)


def at(value: str) -> datetime:
    """An ISO 8601 timestamp from the API or this file."""
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def replay(staff: httpx.Client) -> Replay:
    """Replay the incident through the staff API, with its real, back-dated times."""
    group = make_component(staff, "Zaptec Cloud Services", group=True)
    ocpp = make_component(staff, "OCPP", group_id=group)
    portal = make_component(staff, "Zaptec Portal", group_id=group)
    opened = {
        "name": INCIDENT_NAME,
        "status": "investigating",
        "body": INVESTIGATING,
        "components": {ocpp: "partial_outage"},
        "started_at": STARTED_AT,
        "display_at": STARTED_AT,
    }
    incident_id = call(staff, "POST", "/api/v1/incidents", opened, expect=201)["id"]
    base = f"/api/v1/incidents/{incident_id}"
    monitoring = {
        "status": "monitoring",
        "body": MONITORING,
        "components": {ocpp: "operational"},
        "display_at": MONITORING_AT,
    }
    call(staff, "POST", f"{base}/updates", monitoring, expect=201)
    resolved = {"status": "resolved", "body": RESOLVED, "display_at": RESOLVED_AT}
    call(staff, "POST", f"{base}/updates", resolved, expect=201)
    call(staff, "PUT", f"{base}/postmortem", {"body": POSTMORTEM})
    call(staff, "POST", f"{base}/postmortem/publish", {"published_at": PUBLISHED_AT})
    return Replay(incident_id=incident_id, group_id=group, ocpp_id=ocpp, portal_id=portal)


def test_incident_page_reads_like_a_statuspage_report(public: httpx.Client, replay: Replay) -> None:
    """The report: name, postmortem first, then three updates newest first, then what it hit."""
    soup = page(public, f"/incidents/{replay.incident_id}/")
    assert text(one(soup, "h1")) == INCIDENT_NAME
    report = one(soup, "article.incident-report")
    assert text(one(report, ".report-of")) == "Incident Report for Zaptec"

    postmortem = one(report, "section.postmortem")
    timeline = one(report, "section.timeline")
    assert position(soup, postmortem) < position(soup, timeline)
    body = one(postmortem, ".postmortem-body")
    assert "two message-processing instances were stalled" in text(body)
    assert "Timeline of Events" in [text(h) for h in body.select("h3, h4")]
    assert len(body.select("li")) == 8  # the Markdown lists became HTML lists
    assert "**" not in body.get_text()  # no Markdown syntax leaks onto the page
    assert "## " not in body.get_text()
    assert text(one(postmortem, ".update-posted")) == "Posted Sep 08, 2025 - 13:56 CEST"

    updates = timeline.select("ol.updates > li.update")
    assert [text(one(u, ".update-status")) for u in updates] == [
        "Resolved",
        "Monitoring",
        "Investigating",
    ]
    assert [text(one(u, ".update-body")) for u in updates] == [RESOLVED, MONITORING, INVESTIGATING]
    assert [text(one(u, ".update-posted")) for u in updates] == [
        "Posted Sep 07, 2025 - 12:39 CEST",
        "Posted Sep 07, 2025 - 11:35 CEST",
        "Posted Sep 07, 2025 - 11:12 CEST",
    ]

    last = report.find_all(True, recursive=False)[-1]
    assert isinstance(last, Tag)
    assert last.get("class") == ["affected"]
    assert text(last) == "This incident affected: Zaptec Cloud Services (OCPP)."


def test_api_keeps_the_back_dated_timeline(staff: httpx.Client, replay: Replay) -> None:
    """The staff API returns the times as given and every component change per update."""
    got = call(staff, "GET", f"/api/v1/incidents/{replay.incident_id}")
    assert (got["name"], got["status"], got["impact"]) == (INCIDENT_NAME, "postmortem", "major")
    assert at(got["started_at"]) == at("2025-09-07T09:12:00Z")
    assert at(got["monitoring_at"]) == at(MONITORING_AT)
    assert at(got["resolved_at"]) == at(RESOLVED_AT)
    assert at(got["postmortem_published_at"]) == at(PUBLISHED_AT)
    assert got["postmortem_body"] == POSTMORTEM.strip()

    updates = got["incident_updates"]
    assert [u["status"] for u in updates] == ["resolved", "monitoring", "investigating"]
    assert [at(u["display_at"]) for u in updates] == [
        at(RESOLVED_AT),
        at(MONITORING_AT),
        at(STARTED_AT),
    ]
    changes = [
        ("operational", "operational"),
        ("partial_outage", "operational"),
        ("operational", "partial_outage"),
    ]
    for update, (old, new) in zip(updates, changes, strict=True):
        assert update["affected_components"] == [
            {
                "code": replay.ocpp_id,
                "name": "Zaptec Cloud Services - OCPP",
                "old_status": old,
                "new_status": new,
            },
        ], update["status"]
    assert [c["id"] for c in got["components"]] == [replay.ocpp_id]


def test_front_page_is_all_clear_again(public: httpx.Client, replay: Replay) -> None:
    """Once resolved, the banner says all is well and every component is operational."""
    soup = page(public, "/")
    assert text(one(soup, "h1.page-status")) == "All Systems Operational"
    assert not soup.select("section.active-incidents")
    group = one(soup, f'li.group[data-component-id="{replay.group_id}"]')
    for component_id in (replay.ocpp_id, replay.portal_id):
        row = one(group, f'li.component[data-component-id="{component_id}"]')
        assert text(one(row, ".component-status")) == "Operational"


def test_history_lists_the_incident_under_its_month(public: httpx.Client, replay: Replay) -> None:
    """History pages hold three months each; September 2025's page links to the report."""
    today = datetime.now(TZ).date()
    months_back = (today.year * 12 + today.month) - (2025 * 12 + 9)
    number = months_back // 3 + 1
    soup = page(public, f"/history/{number}/" if number > 1 else "/history/")
    months = {text(one(s, ".month-heading")): s for s in soup.select("section.month")}
    assert "September 2025" in months, list(months)
    up = "../" if number == 1 else "../../"  # links are relative to the page
    link = one(months["September 2025"], f'a[href="{up}incidents/{replay.incident_id}/"]')
    assert text(link) == INCIDENT_NAME

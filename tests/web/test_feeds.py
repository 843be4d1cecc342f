"""Atom and RSS feeds: valid by the specs, Statuspage's shape, one item per update too."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import format_datetime

import feedparser
import pytest
from fastapi.testclient import TestClient

from app.web.feed_builder import FEED_ITEM_CAP
from tests.conftest import FakeClock, make_component, open_incident

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["/history.atom", "/history.rss", "/updates.atom", "/updates.rss"]


def _replay(staff: TestClient, clock: FakeClock) -> tuple[dict[str, object], dict[str, object]]:
    ocpp = make_component(staff, name="OCPP")
    portal = make_component(staff, name="Portal")
    clock.set(datetime(2025, 9, 7, 12, 0, tzinfo=UTC))
    incident = open_incident(
        staff,
        name="Delays in processing charging events",
        body="We're investigating <delays>.",
        components={ocpp["id"]: "partial_outage"},
        display_at="2025-09-07T11:12:00+02:00",
    )
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "monitoring",
            "body": "Fix deployed.",
            "display_at": "2025-09-07T11:35:00+02:00",
        },
    )
    other = open_incident(
        staff, name="Portal slow", components={portal["id"]: "degraded_performance"}
    )
    return incident, {"ocpp": ocpp, "portal": portal, "other": other}


def _required_atom(root: ET.Element) -> None:
    # RFC 4287 4.1.1 / 4.1.2: feed and entries need id, title, updated; author at feed level.
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated", "content"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert entry.find(f"{ATOM}content").get("type") == "html"  # type: ignore[union-attr]
        href = entry.find(f"{ATOM}link").get("href", "")  # type: ignore[union-attr]
        assert href.startswith("https://status.example.com/incidents/")


def _required_rss(root: ET.Element) -> None:
    # RSS 2.0: channel needs title, link, description; each item a title or description.
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), name
    for item in channel.findall("item"):
        for name in ("title", "link", "description", "guid", "pubDate"):
            assert (item.findtext(name) or "").strip(), name


@pytest.mark.parametrize("path", FEEDS)
def test_feeds_are_valid_and_well_typed(
    path: str, staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    _replay(staff, clock)
    response = client.get(path)
    assert response.status_code == 200
    kind = "atom" if path.endswith("atom") else "rss"
    assert response.headers["content-type"] == f"application/{kind}+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if kind == "atom" else "rss20")
    root = ET.fromstring(response.content)
    (_required_atom if kind == "atom" else _required_rss)(root)
    for entry in parsed.entries:
        assert entry.link.startswith("https://status.example.com/incidents/")


def test_history_feed_has_one_entry_per_incident_with_every_update(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    incident, _ = _replay(staff, clock)
    parsed = feedparser.parse(client.get("/history.atom").content)
    assert parsed.feed.title == "Zaptec Status - Incident History"
    entry = next(e for e in parsed.entries if e.title == "Delays in processing charging events")
    assert entry.id == f"tag:status.example.com,2005:Incident/{incident['id']}"
    html = entry.content[0].value
    assert html.index("<strong>Monitoring</strong>") < html.index("<strong>Investigating</strong>")
    assert (
        "<small>Sep 07, 11:35 CEST</small><br /><strong>Monitoring</strong> - Fix deployed." in html
    )
    assert "&lt;delays&gt;" in html  # update text is escaped, never markup
    rss = feedparser.parse(client.get("/history.rss").content)
    item = next(e for e in rss.entries if e.title == incident["name"])
    assert item.id == f"https://status.example.com/incidents/{incident['id']}"


def test_updates_feed_has_an_entry_per_update(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    incident, _ = _replay(staff, clock)
    before = feedparser.parse(client.get("/updates.rss").content)
    assert len(before.entries) == 3
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "Resolved."},
    )
    after = feedparser.parse(client.get("/updates.rss").content)
    new = {e.id for e in after.entries} - {e.id for e in before.entries}
    assert len(new) == 1
    (entry,) = [e for e in after.entries if e.id in new]
    assert entry.title == "Delays in processing charging events - Resolved"
    assert f"/incidents/{incident['id']}#update-" in entry.link


def test_component_feed_lists_only_incidents_touching_it(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    incident, more = _replay(staff, clock)
    ocpp = more["ocpp"]
    parsed = feedparser.parse(client.get(f"/components/{ocpp['id']}/history.atom").content)  # type: ignore[index]
    assert [e.title for e in parsed.entries] == [incident["name"]]
    assert "OCPP" in parsed.feed.title
    assert client.get("/components/nope/history.rss").status_code == 404
    assert client.get("/history.json").status_code == 404  # no such feed, not bad input (#19)


def test_revalidation_gives_304(staff: TestClient, client: TestClient, clock: FakeClock) -> None:
    _replay(staff, clock)
    first = client.get("/history.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/history.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/history.atom", headers={"If-Modified-Since": modified}).status_code == 304
    old = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert client.get("/history.atom", headers={"If-Modified-Since": old}).status_code == 200
    # A change makes the old validators stale.
    incident = open_incident(staff, name="New one")
    assert incident["id"]
    assert client.get("/history.atom", headers={"If-None-Match": etag}).status_code == 200


def test_item_cap(staff: TestClient, client: TestClient) -> None:
    for n in range(FEED_ITEM_CAP + 3):
        open_incident(staff, name=f"Incident {n}")
    parsed = feedparser.parse(client.get("/history.rss").content)
    assert len(parsed.entries) == FEED_ITEM_CAP
    assert parsed.entries[0].title == f"Incident {FEED_ITEM_CAP + 2}"


def test_an_empty_page_has_real_dates_never_1970(client: TestClient, clock: FakeClock) -> None:
    """A page with nothing on it yet: its feeds, JSON and badge date from now, not the epoch."""
    for path in [*FEEDS, "/api/v2/summary.json", "/badge.svg"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "1970" not in response.headers["last-modified"], path
        assert "1970" not in response.text, path
    updated = ET.fromstring(client.get("/history.atom").content).findtext(f"{ATOM}updated")
    assert updated is not None and updated.startswith("2025-09-07")  # the fake clock's day


def test_an_empty_component_feed_dates_from_the_page(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    portal = make_component(staff, name="Portal")  # created at the fake clock's start
    clock.advance(days=3)
    feed = ET.fromstring(client.get(f"/components/{portal['id']}/history.atom").content)
    assert feed.findall(f"{ATOM}entry") == []
    assert (feed.findtext(f"{ATOM}updated") or "").startswith("2025-09-07T")


def test_a_future_maintenance_is_not_published_after_its_update(
    staff: TestClient, client: TestClient
) -> None:
    created = staff.post(
        "/api/v1/maintenances",
        json={
            "name": "Broker upgrade",
            "body": "Chargers may reconnect once.",
            "component_ids": [],
            "scheduled_for": "2025-10-26T02:30:00+02:00",
            "scheduled_until": "2025-10-26T04:30:00+02:00",
        },
    )
    assert created.status_code == 201, created.text
    for path in ("/history.atom", "/updates.atom"):
        feed = ET.fromstring(client.get(path).content)
        (entry,) = feed.findall(f"{ATOM}entry")
        published = datetime.fromisoformat(entry.findtext(f"{ATOM}published") or "")
        updated = datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "")
        assert published <= updated, path
        assert published.date().isoformat() == "2025-09-07"  # when it was announced


def test_a_translated_feed_links_itself(client: TestClient) -> None:
    """The W3C validator warns when rel=self is not the feed's own URL."""
    for path in ("/de/history.atom", "/fr/updates.atom"):
        feed = ET.fromstring(client.get(path).content)
        selfs = [link.get("href") for link in feed.findall(f"{ATOM}link[@rel='self']")]
        assert selfs == [f"https://status.example.com{path}"], path
    rss = ET.fromstring(client.get("/nb/history.rss").content)
    atom_links = rss.findall(".//{http://www.w3.org/2005/Atom}link[@rel='self']")
    assert [link.get("href") for link in atom_links] == [
        "https://status.example.com/nb/history.rss"
    ]


def test_a_translated_feed_links_to_the_pages_in_its_language(
    staff: TestClient, client: TestClient
) -> None:
    """A German reader of /de/history.atom (or of /history.atom with Accept-Language: de)
    follows its links to the German pages; the English feed keeps the unprefixed ones."""
    make_component(staff, name="OCPP gateway")
    incident = open_incident(staff)
    site = "https://status.example.com"
    for path, headers, prefix in (
        ("/de/history.atom", {}, "/de"),
        ("/history.atom", {"Accept-Language": "de"}, "/de"),
        ("/fr/updates.atom", {}, "/fr"),
        ("/history.atom", {"Accept-Language": "en"}, ""),
    ):
        feed = ET.fromstring(client.get(path, headers=headers).content)
        alternates = [link.get("href") for link in feed.findall(f"{ATOM}link[@rel='alternate']")]
        assert alternates == [f"{site}{prefix}/history"], path
        (entry,) = feed.findall(f"{ATOM}entry")
        link = entry.find(f"{ATOM}link")
        assert link is not None
        assert (link.get("href") or "").startswith(f"{site}{prefix}/incidents/{incident['id']}")
    rss = ET.fromstring(client.get("/nb/history.rss").content)
    assert rss.findtext("channel/link") == f"{site}/nb/history"
    assert rss.findtext("channel/item/link") == f"{site}/nb/incidents/{incident['id']}"

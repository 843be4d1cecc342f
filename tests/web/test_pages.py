"""The public HTML pages, parsed and checked element by element."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db import unit_of_work
from app.uptime import service as uptime
from tests.conftest import FakeClock, make_component, open_incident

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[x](javascript:alert(1))"
XSS = f"{XSS_SCRIPT} {XSS_IMG}"


def fetch(client: TestClient, url: str, status: int = 200) -> BeautifulSoup:
    """GET an HTML page and parse it."""
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def one(node: Tag, selector: str) -> Tag:
    """The single element matching a CSS selector."""
    found = node.select(selector)
    assert len(found) == 1, f"{len(found)} matches for {selector!r}"
    return found[0]


def text(node: Tag) -> str:
    """An element's visible text with whitespace collapsed."""
    return " ".join(node.get_text(" ").split())


def post_update(staff: TestClient, incident_id: str, **fields: Any) -> dict[str, Any]:
    """Post a timeline update through the API."""
    response = staff.post(f"/api/v1/incidents/{incident_id}/updates", json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def backfill(staff: TestClient, at: datetime, name: str) -> dict[str, Any]:
    """An incident that started and was resolved at `at` (UTC)."""
    incident = open_incident(staff, name=name, display_at=at.isoformat())
    post_update(staff, incident["id"], status="resolved", body="Fixed.", display_at=at.isoformat())
    return incident


def publish(staff: TestClient, incident_id: str, body: str) -> None:
    """Save and publish a postmortem."""
    saved = staff.put(f"/api/v1/incidents/{incident_id}/postmortem", json={"body": body})
    assert saved.status_code == 200, saved.text
    published = staff.post(f"/api/v1/incidents/{incident_id}/postmortem/publish")
    assert published.status_code == 200, published.text


def day_section(page: BeautifulSoup, iso: str) -> Tag:
    """The past-incidents section of one local day."""
    stamp = one(page, f"section.day time[datetime='{iso}']")
    section = stamp.find_parent("section")
    assert isinstance(section, Tag)
    return section


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([], "none", "All Systems Operational"),
        (["operational", "major_outage"], "major", "Partial System Outage"),
        (["major_outage", "major_outage"], "critical", "Major System Outage"),
        (["degraded_performance", "operational"], "minor", "Partially Degraded Service"),
    ],
)
def test_banner_describes_the_component_states(
    staff: TestClient, statuses: list[str], indicator: str, description: str
) -> None:
    for n, status in enumerate(statuses):
        make_component(staff, name=f"Component {n}", status=status)
    page = fetch(staff, "/")
    banner = one(page, "h1.page-status")
    assert text(banner) == description
    assert banner["data-indicator"] == indicator
    assert f"indicator-{indicator}" in one(page, "section.banner")["class"]


def test_components_are_grouped_and_their_status_is_spelled_out(staff: TestClient) -> None:
    group = make_component(staff, name="Charging cloud", group=True)
    make_component(staff, name="OCPP 1.6J", group_id=group["id"], status="partial_outage")
    make_component(staff, name="REST API", group_id=group["id"], description="Public API")
    driver = make_component(staff, name="Driver app", status="degraded_performance")
    page = fetch(staff, "/")
    top = one(page, "section.components ul.component-list:not(.nested)")
    rows = top.find_all("li", recursive=False)
    assert [row["data-component-id"] for row in rows] == [group["id"], driver["id"]]
    assert text(one(rows[1], ".component-name")) == "Driver app"
    assert text(one(rows[0], "summary .component-name")) == "Charging cloud"
    assert text(one(rows[0], "summary .component-status .label")) == "Partial Outage"
    children = rows[0].select("ul.nested > li.component")
    assert [(text(one(c, ".component-name")), text(one(c, ".label"))) for c in children] == [
        ("OCPP 1.6J", "Partial Outage"),
        ("REST API Public API", "Operational"),
    ]
    assert text(one(children[1], ".component-description")) == "Public API"
    assert text(one(rows[1], ".component-status .label")) == "Degraded Performance"
    # The status label is text a screen reader reads, not a hidden colour swatch.
    for label in page.select(".component-status .label"):
        assert label.find_parent(attrs={"aria-hidden": "true"}) is None


def test_active_incident_shows_its_latest_update_and_what_it_affects(
    staff: TestClient, clock: FakeClock
) -> None:
    group = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J", group_id=group["id"])
    app = make_component(staff, name="Driver app")
    incident = open_incident(
        staff,
        name="Chargers offline",
        body="We are investigating.",
        components={ocpp["id"]: "partial_outage", app["id"]: "degraded_performance"},
    )
    clock.advance(minutes=12)
    post_update(staff, incident["id"], status="identified", body="A **broker** failed.")
    backfill(staff, datetime(2025, 9, 6, 12, 0, tzinfo=UTC), "Old and resolved")
    page = fetch(staff, "/")
    active = one(page, "section.active-incidents")
    article = one(active, "article.incident-active")
    link = one(article, ".incident-title a")
    assert (text(link), link["href"]) == ("Chargers offline", f"incidents/{incident['id']}/")
    latest = text(one(article, ".latest"))
    assert latest.startswith("Identified")
    assert "A broker failed." in latest
    assert "investigating" not in latest.lower()
    assert "Posted Sep 07, 2025 - 11:12 CEST" in latest
    assert text(one(article, ".affected")) == (
        "This incident affects: Charging cloud (OCPP 1.6J) and Driver app."
    )
    assert "Old and resolved" not in text(active)


def test_quiet_page_has_no_active_incidents_section(staff: TestClient) -> None:
    backfill(staff, datetime(2025, 9, 6, 12, 0, tzinfo=UTC), "Resolved yesterday")
    page = fetch(staff, "/")
    assert page.select("section.active-incidents") == []


def test_past_incidents_are_grouped_by_local_day(staff: TestClient) -> None:
    late = backfill(staff, datetime(2025, 9, 3, 23, 30, tzinfo=UTC), "Late evening outage")
    today = backfill(staff, datetime(2025, 9, 7, 6, 0, tzinfo=UTC), "Morning hiccup")
    backfill(staff, datetime(2025, 8, 24, 12, 0, tzinfo=UTC), "Too old for the front page")
    page = fetch(staff, "/")
    days = page.select("section.past-incidents section.day")
    assert len(days) == 14
    stamps = [one(day, ".day-heading time") for day in days]
    assert (stamps[0]["datetime"], text(stamps[0])) == ("2025-09-07", "Sep 7, 2025")
    assert (stamps[-1]["datetime"], text(stamps[-1])) == ("2025-08-25", "Aug 25, 2025")
    # 23:30 UTC on Sep 3 is 01:30 on Sep 4 in Oslo.
    sep4 = day_section(page, "2025-09-04")
    assert [a["data-incident-id"] for a in sep4.select("article.incident-summary")] == [late["id"]]
    assert "Late evening outage" in text(sep4)
    assert text(one(day_section(page, "2025-09-03"), ".empty")) == "No incidents reported."
    sep7 = day_section(page, "2025-09-07")
    assert [a["data-incident-id"] for a in sep7.select("article")] == [today["id"]]
    assert sep7.select(".empty") == []
    quiet = [day for day in days if day.select(".empty")]
    assert len(quiet) == 12
    assert all(text(one(day, ".empty")) == "No incidents reported." for day in quiet)
    assert "Too old for the front page" not in text(page)


def test_incident_page_lists_updates_newest_first(staff: TestClient, clock: FakeClock) -> None:
    incident = open_incident(staff, name="Chargers offline", body="Looking into it.")
    clock.advance(minutes=12)
    post_update(staff, incident["id"], status="identified", body="A broker failed.")
    clock.advance(minutes=30)
    post_update(staff, incident["id"], status="resolved", body="All chargers are back.")
    page = fetch(staff, f"/incidents/{incident['id']}")
    assert text(one(page, "h1.incident-name")) == "Chargers offline"
    assert text(one(page, ".report-of")) == "Incident Report for Zaptec"
    assert page.select(".postmortem") == []
    updates = page.select(".timeline li.update")
    assert [text(one(u, ".update-status")) for u in updates] == [
        "Resolved",
        "Identified",
        "Investigating",
    ]
    assert [text(one(u, ".update-body")) for u in updates] == [
        "All chargers are back.",
        "A broker failed.",
        "Looking into it.",
    ]
    assert [text(one(u, ".update-posted")) for u in updates] == [
        "Posted Sep 07, 2025 - 11:42 CEST",
        "Posted Sep 07, 2025 - 11:12 CEST",
        "Posted Sep 07, 2025 - 11:00 CEST",
    ]


def test_incident_page_shows_a_published_postmortem_first(staff: TestClient) -> None:
    incident = backfill(staff, datetime(2025, 9, 6, 12, 0, tzinfo=UTC), "Chargers offline")
    publish(staff, incident["id"], "# What happened\n\nA broker ran out of disk.")
    url = f"/incidents/{incident['id']}"
    page = fetch(staff, url)
    article = one(page, "article.incident-report")
    sections = [s for s in article.find_all("section") if isinstance(s, Tag)]
    assert [s["class"][0] for s in sections] == ["postmortem", "timeline"]
    body = one(article, ".postmortem-body")
    # The postmortem's own "# heading" sits below the page's h1 and the "Postmortem" h2.
    assert text(one(body, "h3")) == "What happened"
    assert [text(h) for h in page.select("h1")] == ["Chargers offline"]
    assert "A broker ran out of disk." in text(body)

    undone = staff.post(f"/api/v1/incidents/{incident['id']}/postmortem/unpublish")
    assert undone.status_code == 200, undone.text
    page = fetch(staff, url)
    assert page.select(".postmortem") == []
    assert "ran out of disk" not in text(page)
    assert [text(u) for u in page.select(".timeline .update-body")] == [
        "Fixed.",
        "We are investigating.",
    ]


def test_unknown_incident_is_a_404_page(client: TestClient) -> None:
    page = fetch(client, "/incidents/nosuchthing/", status=404)
    assert text(one(page, "main h1")) == "Not found"
    assert page.select("main a[href='../../']")  # the front page, from /incidents/nosuchthing/


def test_history_pages_through_months(staff: TestClient) -> None:
    recent = backfill(staff, datetime(2025, 9, 2, 12, 0, tzinfo=UTC), "Early September")
    # 22:30 UTC on Jul 31 is Aug 1 in Oslo.
    august = backfill(staff, datetime(2025, 7, 31, 22, 30, tzinfo=UTC), "Month boundary")
    old = backfill(staff, datetime(2025, 5, 10, 12, 0, tzinfo=UTC), "Four months back")

    first = fetch(staff, "/history/")
    months = first.select("section.month")
    assert [text(one(m, ".month-heading")) for m in months] == [
        "September 2025",
        "August 2025",
        "July 2025",
    ]
    assert [a["data-incident-id"] for a in months[0].select("article")] == [recent["id"]]
    assert [a["data-incident-id"] for a in months[1].select("article")] == [august["id"]]
    assert text(one(months[2], ".empty")) == "No incidents reported for this month."
    assert "Four months back" not in text(first)
    nav = one(first, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["next"], "2/")]

    second = fetch(staff, "/history/2/")
    months = second.select("section.month")
    assert [text(one(m, ".month-heading")) for m in months] == [
        "June 2025",
        "May 2025",
        "April 2025",
    ]
    assert [a["data-incident-id"] for a in months[1].select("article")] == [old["id"]]
    assert "Four months back" in text(months[1])
    assert text(one(months[0], ".empty")) == "No incidents reported for this month."
    nav = one(second, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["prev"], "../")]
    # Links from before pages were folders still work: /history?page=2 -> /history/?page=2
    old_link = fetch(staff, "/history?page=2")
    assert [a["data-incident-id"] for a in old_link.select("section.month article")] == [old["id"]]


def test_history_without_older_incidents_has_no_older_link(staff: TestClient) -> None:
    backfill(staff, datetime(2025, 9, 2, 12, 0, tzinfo=UTC), "Early September")
    page = fetch(staff, "/history")
    assert page.select("a[rel~=next], a[rel~=prev]") == []
    assert "Early September" in text(page)


def assert_inert(page: BeautifulSoup) -> None:
    """No script element, no event-handler attribute, no javascript: link."""
    assert page.find_all("script") == []
    for element in page.find_all(True):
        assert isinstance(element, Tag)
        handlers = [name for name in element.attrs if name.lower().startswith("on")]
        assert handlers == [], element
        href = element.get("href")
        if isinstance(href, str):
            assert not href.strip().lower().startswith("javascript:"), element


def test_user_content_cannot_inject_markup(staff: TestClient) -> None:
    evil = make_component(staff, name=f"API {XSS}", description=XSS)
    active = open_incident(
        staff,
        name=f"Active {XSS}",
        body=f"{XSS}\n\n{XSS_LINK}",
        components={evil["id"]: "major_outage"},
    )
    done = backfill(staff, datetime(2025, 9, 6, 12, 0, tzinfo=UTC), f"Done {XSS}")
    publish(
        staff, done["id"], f"# Root cause {XSS}\n\n{XSS}\n\n{XSS_LINK}\n\n| a |\n|---|\n| {XSS} |"
    )
    pages = {
        "/": 200,
        f"/incidents/{active['id']}": 200,
        f"/incidents/{done['id']}": 200,
        "/history": 200,
        "/uptime": 200,
        "/incidents/%3Cimg%20src=x%20onerror=alert(1)%3E": 404,
    }
    for url, status in pages.items():
        page = fetch(staff, url, status=status)
        assert_inert(page)
        # The payload is shown as text, so it did reach the page.
        assert XSS_IMG in text(page), url
    front = fetch(staff, "/")
    assert f"API {XSS}" in text(one(front, f"[data-component-id='{evil['id']}'] .component-name"))
    postmortem = one(fetch(staff, f"/incidents/{done['id']}"), ".postmortem-body")
    assert XSS_IMG in text(postmortem)


def test_hidden_components_and_empty_groups_are_left_out(staff: TestClient) -> None:
    quiet = make_component(staff, name="Quiet group", group=True)
    make_component(staff, name="Rarely shown", group_id=quiet["id"], only_show_if_degraded=True)
    shown = make_component(staff, name="Shown group", group=True)
    make_component(staff, name="Always", group_id=shown["id"])
    page = fetch(staff, "/")
    names = [text(n) for n in page.select(".components .component-name")]
    assert names == ["Shown group", "Always"]
    make_component(staff, name="Broken", group_id=quiet["id"], status="major_outage")
    names = [text(n) for n in fetch(staff, "/").select(".components .component-name")]
    assert names == ["Quiet group", "Broken", "Shown group", "Always"]


def test_an_old_incident_resolved_recently_is_listed_on_its_last_day(
    staff: TestClient, clock: FakeClock
) -> None:
    started = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
    clock.set(started)
    incident = open_incident(staff, name="Long tail", display_at=started.isoformat())
    clock.set(datetime(2025, 9, 5, 10, 0, tzinfo=UTC))
    post_update(staff, incident["id"], status="resolved", body="Finally fixed.")
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))
    page = fetch(staff, "/")
    assert "Long tail" in text(day_section(page, "2025-09-05"))


def test_pages_link_their_feeds(client: TestClient) -> None:
    page = fetch(client, "/")
    alternates = {link["href"]: link["type"] for link in page.select("head link[rel='alternate']")}
    assert alternates == {
        "https://status.example.com/history.atom": "application/atom+xml",
        "https://status.example.com/history.rss": "application/rss+xml",
        "https://status.example.com/updates.rss": "application/rss+xml",
    }
    visible = {a["href"] for a in page.select("footer a")}
    # Relative links, except subscribing: that needs the live service, even from a static copy.
    assert {"history.atom", "history.rss", "updates.rss"} <= visible
    assert "https://status.example.com/subscribe" in visible


def uptime_history(staff: TestClient, clock: FakeClock) -> dict[str, dict[str, Any]]:
    """Components created Sep 1 (noon in Oslo) and incidents on Sep 5 and 6; now is Sep 7."""
    clock.set(datetime(2025, 9, 1, 10, 0, tzinfo=UTC))
    made = {
        "ocpp": make_component(staff, name="OCPP 1.6J"),
        "quiet": make_component(staff, name="Internal", showcase=False),
        "cloud": make_component(staff, name="Cloud", group=True),
    }
    made["api"] = make_component(staff, name="REST API", group_id=made["cloud"]["id"])
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))
    ocpp, api = made["ocpp"]["id"], made["api"]["id"]

    def replay(name: str, start: str, end: str, components: dict[str, str]) -> dict[str, Any]:
        incident = open_incident(
            staff, name=name, display_at=f"{start}+02:00", components=components
        )
        post_update(
            staff, incident["id"], status="resolved", body="Fixed.", display_at=f"{end}+02:00"
        )
        return incident

    made["outage"] = replay(
        "Chargers offline", "2025-09-05T10:00:00", "2025-09-05T11:30:00", {ocpp: "major_outage"}
    )
    made["slow"] = replay(
        "Slow API", "2025-09-05T12:00:00", "2025-09-05T12:30:00", {api: "partial_outage"}
    )
    made["flaky"] = replay(
        "Flaky API", "2025-09-05T20:00:00", "2025-09-05T20:20:00", {api: "degraded_performance"}
    )
    return made


def bars(row: Tag) -> list[tuple[str, Tag]]:
    """Every day of a row of bars, oldest first, with the element drawing it: a run of quiet
    days (class gN) draws N days; the row ends on its data-end day."""
    container = one(row, "div.uptime-bars")
    drawn: list[Tag] = []
    for element in container.select("i, a, b"):
        runs = [c for c in element.get("class") or [] if c.startswith("g")]
        drawn += [element] * (int(runs[0][1:]) if runs else 1)
    end = date.fromisoformat(str(container["data-end"]))
    first = end - timedelta(days=len(drawn) - 1)
    return [((first + timedelta(days=n)).isoformat(), e) for n, e in enumerate(drawn)]


def bar(row: Tag, iso: str) -> Tag:
    """One day's bar in a component row."""
    return dict(bars(row))[iso]


def tip(element: Tag) -> str:
    """A day's label, as its tip shows it."""
    return text(one(element, ".tip"))


def test_front_page_shows_90_daily_uptime_bars_per_showcased_component(
    staff: TestClient, clock: FakeClock
) -> None:
    made = uptime_history(staff, clock)
    page = fetch(staff, "/")
    ocpp = one(page, f"li.component[data-component-id='{made['ocpp']['id']}']")
    days = bars(ocpp)
    assert len(days) == 90
    assert (days[0][0], days[-1][0]) == ("2025-06-10", "2025-09-07")

    outage = bar(ocpp, "2025-09-05")
    assert tip(outage) == "Sep 5, 2025: 1 h 30 min major outage. Incident: Chargers offline"
    assert outage.name == "a" and outage["class"] == ["x"]
    assert outage["href"] == f"incidents/{made['outage']['id']}/"

    quiet_day = bar(ocpp, "2025-09-06")  # a quiet day: no label, no link, drawn plain
    assert quiet_day.name == "i" and quiet_day.select(".tip") == []
    assert quiet_day is bar(ocpp, "2025-09-07")  # one element for the two quiet days
    before = bar(ocpp, "2025-08-31")
    assert before.name == "i" and "n" in before["class"]
    assert len([d for d, e in days if "n" in (e.get("class") or [])]) == 83  # Jun 10 .. Aug 31
    # a phone shows the last 30 days: the 60 before them are in the part it hides
    old = one(ocpp, "div.uptime-bars > span.old")
    assert [d for d, e in days if old in e.parents][-1] == "2025-08-08"
    # 90 minutes down out of six days less an hour: 98.951...%, rounded down.
    # Created Sep 1: the figure says it covers those days, not 90 (the bars before are no data)
    assert text(one(ocpp, ".uptime-percent.long")) == "98.95% uptime since Sep 1, 2025"
    assert text(one(ocpp, ".uptime-percent.short")) == "98.95% uptime since Sep 1, 2025"
    assert text(one(ocpp, ".uptime-from.short")) == "30 days ago"

    # A grouped component has bars; the group, and a component not showcased, do not.
    api = one(page, f"li.component[data-component-id='{made['api']['id']}']")
    two = bar(api, "2025-09-05")
    assert tip(two) == (
        "Sep 5, 2025: 30 min partial outage, 20 min degraded performance. "
        "Incidents: Slow API; Flaky API"
    )
    assert two["class"] == ["p"]
    assert two["href"] == "history/#month-2025-09"
    # 30 min of partial outage at 0.3 is 9 min down in 143 h: 99.895...%, rounded down.
    assert text(one(api, ".uptime-percent.long")) == "99.89% uptime since Sep 1, 2025"
    quiet = one(page, f"li.component[data-component-id='{made['quiet']['id']}']")
    assert quiet.select(".uptime") == []
    group = one(page, f"li.group[data-component-id='{made['cloud']['id']}']")
    assert group.select("summary .uptime") == []
    assert len(page.select("div.uptime-bars")) == 2
    assert one(page, "section.components a[href='uptime/']")


def test_uptime_bars_and_link_appear_with_the_first_showcased_component(
    staff: TestClient,
) -> None:
    make_component(staff, name="Internal", showcase=False)
    page = fetch(staff, "/")
    assert page.select(".uptime") == []
    assert page.select("main a[href='uptime/']") == []
    shown = make_component(staff, name="OCPP 1.6J")
    page = fetch(staff, "/")
    row = one(page, f"li.component[data-component-id='{shown['id']}']")
    assert len(bars(row)) == 90
    assert text(one(row, ".uptime-percent.long")) == "100% uptime since Sep 7, 2025"
    assert bar(row, "2025-09-07").name == "i"
    assert one(page, "main a[href='uptime/']")


def test_front_page_loads_uptime_in_bulk_not_per_component(
    staff: TestClient, clock: FakeClock, app: FastAPI
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        # The render cache's own version poll runs meanwhile (its SELECT and its BEGIN).
        if "data_version" not in args[2] and args[2] not in ("BEGIN", "BEGIN IMMEDIATE"):
            statements.append(args[2])

    def queries() -> int:
        app.state.render_cache.entries.clear()  # measure a render, not a cache hit
        uptime.STORED.rows.clear()  # and a read of every rollup, not the rows kept
        uptime.PAST.rows.clear()
        app.state.per_version.clear()  # and of every part, not the parts kept
        statements.clear()
        fetch(staff, "/")
        return len(statements)

    uptime_history(staff, clock)
    fetch(staff, "/")  # the first request of a process also reads the data version
    sa.event.listen(app.state.engine, "before_cursor_execute", count)
    few = queries()
    assert any("component_day" in s for s in statements)
    for n in range(8):
        extra = make_component(staff, name=f"Extra {n}")
        staff.patch(f"/api/v1/components/{extra['id']}", json={"status": "partial_outage"})
        clock.advance(hours=30)
        staff.patch(f"/api/v1/components/{extra['id']}", json={"status": "operational"})
    assert queries() == few
    assert len([s for s in statements if "component_day" in s]) == 1


def test_a_rerender_reads_again_only_the_rollups_of_the_component_that_changed(
    staff: TestClient, clock: FakeClock, app: FastAPI
) -> None:
    read: list[Any] = []

    def count(*args: Any) -> None:
        if "FROM component_day" in args[2]:
            read.append(args[3])

    made = uptime_history(staff, clock)
    before = fetch(staff, "/")
    sa.event.listen(app.state.engine, "before_cursor_execute", count)
    app.state.render_cache.entries.clear()
    assert str(fetch(staff, "/").select_one("main")) == str(before.select_one("main"))
    assert read == []  # nothing changed: every component's rows were kept
    ocpp = made["ocpp"]["id"]
    clock.advance(hours=1)
    staff.patch(f"/api/v1/components/{ocpp}", json={"status": "major_outage"})
    clock.advance(hours=1)
    staff.patch(f"/api/v1/components/{ocpp}", json={"status": "operational"})
    read.clear()
    app.state.render_cache.entries.clear()
    page = fetch(staff, "/")
    assert len(read) == 1 and ocpp in str(read[0]) and made["api"]["id"] not in str(read[0])
    # and the new hour of outage is on today's bar
    today = bar(one(page, f"li.component[data-component-id='{ocpp}']"), "2025-09-07")
    assert "1 h major outage" in tip(today)


def test_uptime_page_shows_three_monthly_calendars_per_component(
    staff: TestClient, clock: FakeClock
) -> None:
    made = uptime_history(staff, clock)
    page = fetch(staff, "/uptime")
    assert text(one(page, "main h1")) == "Uptime"
    assert text(one(page, ".page-range")) == "Jul 1, 2025 \N{EN DASH} Sep 7, 2025"
    sections = page.select("section.uptime-component")
    assert [s["data-component-id"] for s in sections] == [made["ocpp"]["id"], made["api"]["id"]]
    assert [text(one(s, ".uptime-heading .component-name")) for s in sections] == [
        "OCPP 1.6J",
        "Cloud - REST API",
    ]
    ocpp = sections[0]
    months = ocpp.select("table.calendar")
    assert [m["data-month"] for m in months] == ["2025-07", "2025-08", "2025-09"]
    assert [text(one(m, "caption .calendar-month")) for m in months] == [
        "July 2025",
        "August 2025",
        "September 2025",
    ]
    assert [len(m.select("td.cal-day")) for m in months] == [31, 31, 30]
    # Weeks start on Monday: September 1, 2025 was a Monday, July 1 a Tuesday.
    assert [text(th) for th in months[0].select("thead th")][:2] == ["Mo", "Tu"]
    assert months[0].select("tbody tr")[0].select("td")[1]["data-date"] == "2025-07-01"
    assert months[2].select("tbody tr")[0].select("td")[0]["data-date"] == "2025-09-01"

    sep = months[2]
    day5 = one(sep, "td[data-date='2025-09-05']")
    assert "day-major_outage" in day5["class"]
    assert day5["title"] == "Sep 5, 2025: 1 h 30 min major outage. Incident: Chargers offline"
    assert text(one(day5, ".visually-hidden")) == day5["title"]
    assert one(day5, "a")["href"] == f"../incidents/{made['outage']['id']}/"
    assert "day-operational" in one(sep, "td[data-date='2025-09-07']")["class"]
    future = sep.select("td.day-future")
    assert [td["data-date"] for td in future][:1] == ["2025-09-08"]
    assert len(future) == 23
    assert all("day-none" in td["class"] for td in months[1].select("td.cal-day"))
    assert text(one(months[1], "caption .uptime-percent")) == "No data"
    assert text(one(sep, "caption .uptime-percent")) == "98.95%"
    assert text(one(ocpp, ".uptime-heading .uptime-percent")) == "98.95% uptime since Sep 1, 2025"
    assert "partial outage at 30%" in text(one(page, ".uptime-note"))


def test_uptime_page_without_components_says_so(client: TestClient) -> None:
    page = fetch(client, "/uptime")
    assert page.select("table.calendar") == []
    assert text(one(page, "main p.empty")) == "No component shows its uptime yet."


def test_a_large_page_shows_one_row_of_bars_per_group(
    staff: TestClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web import front_page

    made = uptime_history(staff, clock)
    # Two more components in the Cloud group: three showcased beside OCPP, over the limit.
    cloud = made["cloud"]["id"]
    clock.set(datetime(2025, 9, 1, 10, 0, tzinfo=UTC))
    make_component(staff, name="Webhooks", group_id=cloud)
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(front_page, "FRONT_PAGE_BARS", 2)
    page = fetch(staff, "/")

    group = one(page, f"li.group[data-component-id='{cloud}']")
    assert text(one(group, ".group-head .component-name")) == "Cloud"
    sep5 = bar(group, "2025-09-05")
    # the group's day adds up its components' time: REST API's trouble, Webhooks' none
    assert tip(sep5) == (
        "Sep 5, 2025: 30 min partial outage, 20 min degraded performance. "
        "Incidents: Slow API; Flaky API"
    )
    assert sep5["class"] == ["p"]
    # 9 min down (30 min partial at 0.3) in two components' 143 h each: 99.947...%
    assert text(one(group, ".uptime-percent.long")) == "99.94% uptime since Sep 1, 2025"
    members = one(group, "details.group-members")
    assert members.get("open") is None  # folded
    assert text(one(members, "summary")) == "2 components"
    assert members.select(".uptime") == []  # the members draw no bars of their own
    # a component outside any group keeps its own row of bars
    ocpp = one(page, f"li.component[data-component-id='{made['ocpp']['id']}']")
    assert tip(bar(ocpp, "2025-09-05")).startswith("Sep 5, 2025: 1 h 30 min major outage")
    assert len(page.select("div.uptime-bars")) == 2


def test_group_sums_equal_the_sum_of_their_components(
    staff: TestClient, clock: FakeClock, engine: Any
) -> None:

    from app.components import service as components
    from app.uptime import service as uptime

    made = uptime_history(staff, clock)
    clock.set(datetime(2025, 9, 2, 10, 0, tzinfo=UTC))
    make_component(staff, name="Webhooks", group_id=made["cloud"]["id"])
    now = datetime(2025, 9, 7, 9, 0, tzinfo=UTC)
    first, last, tz = datetime(2025, 8, 20).date(), now.date(), ZoneInfo("Europe/Oslo")
    with unit_of_work(engine) as session:
        leaves = [c for c in components.list_components(session) if not c.is_group]
        rows: dict[str, list[Any]] = {}
        for c in leaves:
            rows.setdefault(c.group_id or c.id, []).append(c)
        each = uptime.daily_figures(session, leaves, first_day=first, last_day=last, now=now, tz=tz)
        summed = uptime.summed_figures(
            session, rows, first_day=first, last_day=last, now=now, tz=tz
        )
    assert set(summed) == {made["ocpp"]["id"], made["cloud"]["id"], made["quiet"]["id"]}
    assert len(rows[made["cloud"]["id"]]) == 2
    for row, members in rows.items():
        for n, day in enumerate(summed[row]):
            expected = {s: sum(each[m.id][n].us[s] for m in members) for s in day.us}
            assert day.us == expected, (row, day.day)
            assert day.has_data == any(each[m.id][n].has_data for m in members)


def test_uptime_calendars_come_a_page_of_components_at_a_time(
    staff: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web import uptime_page

    monkeypatch.setattr(uptime_page, "UPTIME_COMPONENTS_PER_PAGE", 2)
    for name in ("A", "B", "C"):
        make_component(staff, name=name)
    first = fetch(staff, "/uptime")
    assert [text(h) for h in first.select(".uptime-heading .component-name")] == ["A", "B"]
    nav = one(first, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["next"], "2/")]
    second = fetch(staff, "/uptime/2/")
    assert [text(h) for h in second.select(".uptime-heading .component-name")] == ["C"]
    nav = one(second, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["prev"], "../")]
    fetch(staff, "/uptime/3/", status=404)
    fetch(staff, "/uptime/0/", status=404)


def test_a_busy_month_lists_its_newest_and_links_to_all_of_them(
    staff: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web import history

    monkeypatch.setattr(history, "MONTH_SHOWN", 2)
    made = [
        backfill(staff, datetime(2025, 8, day, 12, 0, tzinfo=UTC), f"August {day}")
        for day in (3, 9, 20)
    ]
    page = fetch(staff, "/history")
    august = page.select("section.month")[1]
    assert [a["data-incident-id"] for a in august.select("article")] == [
        made[2]["id"],
        made[1]["id"],
    ]
    more = one(august, "p.more a")
    assert more["href"] == "2025-08/"
    assert text(more) == "Show all 3 incidents of August 2025 →"

    whole = fetch(staff, "/history/2025-08/")
    months = whole.select("section.month")
    assert [text(one(m, ".month-heading")) for m in months] == ["August 2025"]
    assert len(months[0].select("article")) == 3
    assert months[0].select("p.more") == []
    back = one(whole, "nav.pagination a")
    assert back["href"] == "../#month-2025-08"
    fetch(staff, "/history/2025-13/", status=404)
    fetch(staff, "/history/2031-01/", status=404)


def test_history_skips_empty_months_and_pages(staff: TestClient) -> None:
    """Older and Newer go straight to the next incident; a run of empty months is said once."""
    recent = backfill(staff, datetime(2025, 9, 2, 12, 0, tzinfo=UTC), "Early September")
    old = backfill(staff, datetime(2025, 1, 10, 12, 0, tzinfo=UTC), "January")

    first = fetch(staff, "/history/")
    months = first.select("section.month")
    assert [text(one(m, ".month-heading")) for m in months] == [
        "September 2025",
        "July 2025 \u2013 August 2025",  # one entry for the run of empty months
    ]
    assert [a["data-incident-id"] for a in months[0].select("article")] == [recent["id"]]
    assert text(one(months[1], ".empty")) == "No incidents reported for these months."
    nav = one(first, "nav.pagination")
    # April to June have nothing: Older skips their page and lands on January's
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["next"], "3/")]

    third = fetch(staff, "/history/3/")
    months = third.select("section.month")
    assert [text(one(m, ".month-heading")) for m in months] == [
        "February 2025 \u2013 March 2025",
        "January 2025",
    ]
    assert [a["data-incident-id"] for a in months[1].select("article")] == [old["id"]]
    nav = one(third, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [(["prev"], "../")]
    # the skipped page still answers, and leads on to where the incidents are
    second = fetch(staff, "/history/2/")
    assert text(one(second, ".empty")) == "No incidents reported for these months."
    nav = one(second, "nav.pagination")
    assert [(a["rel"], a["href"]) for a in nav.find_all("a")] == [
        (["prev"], "../"),
        (["next"], "../3/"),
    ]


def test_a_young_component_says_where_its_uptime_figure_starts(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    """The figure covers the component's lifetime; laid out as a 90-day figure it would
    claim 90 days. Its days before are no data (as their bars are), and it says so."""
    young = make_component(staff, name="New API", showcase=True)
    staff.patch(f"/api/v1/components/{young['id']}", json={"status": "major_outage"})
    clock.advance(minutes=3)
    staff.patch(f"/api/v1/components/{young['id']}", json={"status": "operational"})
    clock.advance(minutes=8)
    row = one(fetch(client, "/"), f"li[data-component-id='{young['id']}']")
    figure = text(one(row, ".uptime-percent.long"))
    assert figure.endswith("uptime since Sep 7, 2025"), figure
    assert text(one(row, ".uptime-percent.short")).endswith("since Sep 7, 2025")
    calendars = fetch(client, "/uptime/")
    heading = one(calendars, f"section[data-component-id='{young['id']}'] h2 .uptime-percent")
    assert text(heading).endswith("uptime since Sep 7, 2025")
    german = one(fetch(client, "/de/"), f"li[data-component-id='{young['id']}']")
    assert "Verfügbarkeit seit" in text(one(german, ".uptime-percent.long"))

    clock.advance(days=100)  # now older than the bars: a plain 90-day figure
    staff.patch(f"/api/v1/components/{young['id']}", json={"description": "v2"})  # re-render
    row = one(fetch(client, "/"), f"li[data-component-id='{young['id']}']")
    assert text(one(row, ".uptime-percent.long")).endswith("% uptime")

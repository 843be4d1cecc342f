"""Uptime over a chosen range: /uptime/?from=&to=, /api/v2/uptime.json and .csv, and the
per-component daily figures over a range. Changes are replayed through the staff API, across
both DST changes of Oslo, so months hold their 25- and 23-hour days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.uptime import ranges, service
from tests.conftest import FakeClock, make_component, open_incident
from tests.web.test_pages import one

RANGE = "from=2024-10-01&to=2025-09-07"


def replay(
    staff: TestClient, component_id: str, status: str, start: str, end: str, name: str
) -> None:
    """An incident that put one component in `status` from `start` to `end` (ISO times)."""
    incident = open_incident(staff, name=name, display_at=start, components={component_id: status})
    resolved = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "Fixed.", "display_at": end},
    )
    assert resolved.status_code == 201, resolved.text


@pytest.fixture
def page(staff: TestClient, clock: FakeClock) -> dict[str, Any]:
    """A group (OCPP 1.6J, OCPI) and a web site, created 2024-03-01, with three outages."""
    clock.set(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    cloud = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J", group_id=cloud["id"])
    ocpi = make_component(staff, name="OCPI", group_id=cloud["id"])
    web = make_component(staff, name="=Web site")  # a name a spreadsheet would run
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))  # 11:00 in Oslo
    # Across the end of summer time (Oct 27, 2024 has 25 hours): 7 real hours.
    replay(staff, ocpp["id"], "major_outage", "2024-10-26T23:00:00+02:00",
           "2024-10-27T05:00:00+01:00", "Stalled processors")  # fmt: skip
    # Across its start (Mar 30, 2025 has 23 hours): 2 real hours.
    replay(staff, ocpi["id"], "partial_outage", "2025-03-30T01:00:00+01:00",
           "2025-03-30T04:00:00+02:00", "Slow locations")  # fmt: skip
    # Open over the turn of a month: counted in May and in June.
    replay(staff, web["id"], "major_outage", "2025-05-31T23:00:00+02:00",
           "2025-06-01T01:00:00+02:00", "Web site down")  # fmt: skip
    return {"cloud": cloud, "ocpp": ocpp, "ocpi": ocpi, "web": web}


def by_period(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["period"]: p for p in [row["total"], *row["years"], *row["months"]]}


def test_json_export_sums_months_years_and_groups(staff: TestClient, page: dict[str, Any]) -> None:
    response = staff.get(f"/api/v2/uptime.json?{RANGE}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_day"], body["last_day"]) == ("2024-10-01", "2025-09-07")
    assert body["time_zone"] == "Europe/Oslo"
    rows = {r["id"]: r for r in body["components"]}
    assert [r["id"] for r in body["components"]] == [
        page["cloud"]["id"], page["ocpp"]["id"], page["ocpi"]["id"], page["web"]["id"]
    ]  # fmt: skip
    assert rows[page["cloud"]["id"]]["is_group"] is True
    assert rows[page["ocpp"]["id"]]["group_id"] == page["cloud"]["id"]

    ocpp = by_period(rows[page["ocpp"]["id"]])
    october = ocpp["2024-10"]
    assert october["minutes"]["major_outage"] == 420
    assert october["minutes"]["operational"] == (31 * 24 + 1) * 60 - 420  # the 25-hour day
    assert october["uptime_percent"] == round(100 * (1 - 420 / ((31 * 24 + 1) * 60)), 4)
    assert october["incidents"] == 1
    assert (october["first_day"], october["last_day"]) == ("2024-10-01", "2024-10-31")
    assert ocpp["2024"]["minutes"]["major_outage"] == 420
    assert (ocpp["2024"]["first_day"], ocpp["2024"]["last_day"]) == ("2024-10-01", "2024-12-31")
    assert ocpp["2025"]["minutes"]["major_outage"] == 0
    assert ocpp["2025"]["incidents"] == 0
    # Today ends at now (11:00 in Oslo): September holds 6 days and 11 hours.
    assert ocpp["2025-09"]["minutes"]["operational"] == (6 * 24 + 11) * 60
    assert ocpp["2025-09"]["last_day"] == "2025-09-07"

    ocpi = by_period(rows[page["ocpi"]["id"]])
    assert ocpi["2025-03"]["minutes"]["partial_outage"] == 120
    assert ocpi["2025-03"]["minutes"]["operational"] == (31 * 24 - 1) * 60 - 120  # 23-hour day
    weighted = 0.3 * 120 / ((31 * 24 - 1) * 60)
    assert ocpi["2025-03"]["uptime_percent"] == round(100 * (1 - weighted), 4)

    cloud = by_period(rows[page["cloud"]["id"]])
    total = cloud["2024-10-01/2025-09-07"]
    assert total["minutes"]["major_outage"] == 420
    assert total["minutes"]["partial_outage"] == 120
    assert total["incidents"] == 2
    counted = sum(total["minutes"].values())
    assert counted == pytest.approx(2 * sum(ocpp["2024-10-01/2025-09-07"]["minutes"].values()))

    web = by_period(rows[page["web"]["id"]])
    assert (web["2025-05"]["incidents"], web["2025-06"]["incidents"]) == (1, 1)
    assert web["2025"]["incidents"] == 1
    assert web["2025-05"]["minutes"]["major_outage"] == 60
    assert web["2025-06"]["minutes"]["major_outage"] == 60


def test_csv_export_has_a_line_per_row_and_period(staff: TestClient, page: dict[str, Any]) -> None:
    response = staff.get(f"/api/v2/uptime.csv?{RANGE}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "uptime-2024-10-01-2025-09-07.csv" in response.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(response.text)))
    periods = 1 + 2 + 12  # the range, two years, twelve months
    assert len(lines) == 4 * periods
    october = next(x for x in lines if x["id"] == page["ocpp"]["id"] and x["period"] == "2024-10")
    assert october["period_type"] == "month"
    assert float(october["major_outage_minutes"]) == 420
    assert october["incidents"] == "1"
    web = next(x for x in lines if x["id"] == page["web"]["id"])
    assert web["name"] == "'=Web site"  # not a formula
    group = next(x for x in lines if x["id"] == page["cloud"]["id"])
    assert group["is_group"] == "true"


def test_default_range_is_the_calendars_three_months(
    staff: TestClient, page: dict[str, Any]
) -> None:
    body = staff.get("/api/v2/uptime.json").json()
    assert (body["first_day"], body["last_day"]) == ("2025-07-01", "2025-09-07")


def test_range_page_has_totals_and_a_table_per_year(
    client: TestClient, page: dict[str, Any], app: FastAPI
) -> None:
    response = client.get(f"/uptime/?{RANGE}")
    assert response.status_code == 200, response.text
    soup = BeautifulSoup(response.text, "html.parser")
    assert "Oct 1, 2024" in one(soup, ".page-range").get_text()
    form = one(soup, "form.range-form")
    assert form["method"] == "get"
    assert one(form, "input[name=from]")["value"] == "2024-10-01"
    assert one(form, "input[name=to]")["value"] == "2025-09-07"
    links = [a["href"] for a in form.select(".range-help a")]
    assert links == [f"../api/v2/uptime.csv?{RANGE}", f"../api/v2/uptime.json?{RANGE}"]
    summary = soup.select("table.range-table")[0]
    row = one(summary, f'tr[data-component-id="{page["ocpp"]["id"]}"]')
    cells = [td.get_text(" ", strip=True) for td in row.select("td")]
    assert one(row, "th").get_text(strip=True) == "OCPP 1.6J"  # under its group's row
    assert "range-member" in row["class"]
    assert cells[1:] == ["7 h", "\N{EN DASH}", "1"]
    headings = [h.get_text(strip=True) for h in soup.select("section h2")]
    assert headings[-2:] == ["2025", "2024"]
    year_2024 = soup.select("table.range-months")[-1]
    assert [th.get_text(strip=True) for th in year_2024.select("thead th")] == [
        "Component", "Oct", "Nov", "Dec", "Year"
    ]  # fmt: skip
    # Rendered afresh for each range; the render cache keeps only the default page.
    cache = app.state.render_cache
    assert not [key for key in cache.entries if "from=" in key]
    assert client.get("/uptime/").status_code == 200
    assert "/uptime/" in cache.entries


def test_range_page_speaks_the_readers_language(client: TestClient, page: dict[str, Any]) -> None:
    soup = BeautifulSoup(client.get(f"/de/uptime/?{RANGE}").text, "html.parser")
    year_2024 = soup.select("table.range-months")[-1]
    assert [th.get_text(strip=True) for th in year_2024.select("thead th")][:2] == [
        "Komponente", "Okt"
    ]  # fmt: skip


def test_component_days_over_a_range(staff: TestClient, page: dict[str, Any]) -> None:
    before = len(service.STORED.rows)
    url = f"/api/v2/components/{page['ocpp']['id']}/uptime.json?from=2024-10-26&to=2024-10-28"
    body = staff.get(url).json()
    days = {d["date"]: d["seconds"] for d in body["days"]}
    assert list(days) == ["2024-10-26", "2024-10-27", "2024-10-28"]
    assert sum(days["2024-10-27"].values()) == 25 * 3600
    assert days["2024-10-26"]["major_outage"] == 3600
    assert days["2024-10-27"]["major_outage"] == 6 * 3600
    assert len(service.STORED.rows) == before  # a chosen range is not kept in memory


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=2025-02-30", "from must be a date written YYYY-MM-DD"),
        ("from=yesterday", "from must be a date"),
        ("from=2025-09-01&to=2025-08-01", "ends (2025-08-01) before it starts"),
        ("from=2010-01-01&to=2025-01-01", "longer than 10 years"),
        ("from=2025-10-01", "starts after today"),
        ("to=2025-01-01", "first day of the range"),
        ("from=1900-01-01&to=1900-02-01", "can't start before 1970-01-01"),
    ],
)
def test_bad_ranges_are_explained(
    staff: TestClient, page: dict[str, Any], query: str, words: str
) -> None:
    for url in (f"/api/v2/uptime.json?{query}", f"/api/v2/uptime.csv?{query}"):
        answer = staff.get(url)
        assert answer.status_code == 422, url
        assert answer.json()["code"] == "invalid_input"
        assert words in answer.json()["detail"]
    shown = staff.get(f"/uptime/?{query}")
    assert shown.status_code == 422
    assert shown.headers["content-type"].startswith("text/html")
    assert words in BeautifulSoup(shown.text, "html.parser").get_text()
    component = staff.get(f"/api/v2/components/{page['ocpp']['id']}/uptime.json?{query}")
    assert component.status_code == 422


def test_ranges_are_read_a_few_at_a_time(staff: TestClient, page: dict[str, Any]) -> None:
    with ranges.reading_slot(), ranges.reading_slot():  # both slots busy elsewhere
        busy = staff.get(f"/api/v2/uptime.json?{RANGE}")
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "2"
        assert busy.json()["code"] == "rate_limited"
        assert staff.get("/api/v2/uptime.json").status_code == 429  # every range, even the default
    assert staff.get(f"/api/v2/uptime.json?{RANGE}").status_code == 200


def test_presets_and_months_with_incidents_link_on(
    client: TestClient, page: dict[str, Any]
) -> None:
    default = BeautifulSoup(client.get("/uptime/").text, "html.parser")
    presets = [(a.get_text(), a["href"]) for a in default.select(".range-presets a")]
    assert presets == [
        ("Last 12 months", "./?from=2024-10-01&to=2025-09-07"),
        ("2025", "./?from=2025-01-01&to=2025-09-07"),
        ("2024", "./?from=2024-01-01&to=2024-12-31"),
        ("2023", "./?from=2023-01-01&to=2023-12-31"),
    ]
    ranged = BeautifulSoup(client.get(f"/uptime/?{RANGE}").text, "html.parser")
    assert len(ranged.select(".range-presets a")) == 4  # on the range page too
    # Another language keeps the range (and nothing else a reader put in the address).
    assert one(ranged, 'a[hreflang="de"]')["href"] == f"../de/uptime/?{RANGE}"
    assert one(default, 'a[hreflang="de"]')["href"] == "../de/uptime/"
    year_2025 = ranged.select("table.range-months")[0]
    linked = {a["href"] for a in year_2025.select("td a")}
    assert linked == {"../history/2025-03/", "../history/2025-05/", "../history/2025-06/"}

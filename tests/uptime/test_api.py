"""/api/v2/components/{id}/uptime.json: daily figures from changes made through the staff API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock, make_component, open_incident

STATUSES = {
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
}


def test_daily_figures_of_the_last_90_days(staff: TestClient, clock: FakeClock) -> None:
    clock.set(datetime(2025, 9, 1, 10, 0, tzinfo=UTC))  # noon in Oslo
    ocpp = make_component(staff, name="OCPP 1.6J")
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))
    # Replayed after the fact: 90 minutes of major outage on the 5th, Oslo time.
    incident = open_incident(
        staff,
        display_at="2025-09-05T10:00:00+02:00",
        components={ocpp["id"]: "major_outage"},
    )
    resolved = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "Fixed.", "display_at": "2025-09-05T11:30:00+02:00"},
    )
    assert resolved.status_code == 201, resolved.text

    response = staff.get(f"/api/v2/components/{ocpp['id']}/uptime.json")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["component"] == {"id": ocpp["id"], "name": "OCPP 1.6J"}
    assert body["time_zone"] == "Europe/Oslo"
    assert body["weights"] == {
        "major_outage": 1.0,
        "partial_outage": 0.3,
        "degraded_performance": 0.0,
    }
    days = body["days"]
    assert len(days) == 90
    assert (days[0]["date"], days[-1]["date"]) == ("2025-06-10", "2025-09-07")
    by_date = {d["date"]: d for d in days}
    assert all(set(d["seconds"]) == STATUSES for d in days)

    outage = by_date["2025-09-05"]
    assert outage["seconds"]["major_outage"] == 5400
    assert outage["seconds"]["operational"] == 86400 - 5400
    assert outage["uptime_percent"] == 93.75
    before = by_date["2025-08-31"]
    assert before["uptime_percent"] is None
    assert set(before["seconds"].values()) == {0}
    assert by_date["2025-09-01"]["seconds"]["operational"] == pytest.approx(12 * 3600, abs=1)
    assert by_date["2025-09-07"]["seconds"]["operational"] == pytest.approx(11 * 3600, abs=1)
    assert by_date["2025-09-06"]["uptime_percent"] == 100
    # Six days less an hour of existence, 90 minutes of it down.
    assert body["uptime_percent"] == pytest.approx(100 * (1 - 5400 / (143 * 3600)), abs=1e-4)


def test_unknown_component_or_group_is_a_json_404(staff: TestClient) -> None:
    missing = staff.get("/api/v2/components/nosuchthing/uptime.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    group = make_component(staff, name="Charging cloud", group=True)
    refused = staff.get(f"/api/v2/components/{group['id']}/uptime.json")
    assert refused.status_code == 404
    assert "group" in refused.json()["detail"]

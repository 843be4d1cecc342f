"""The /api/v2 JSON against Statuspage's shapes (../shared/reference/statuspage-v2-api.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock, make_component, open_incident

# Field sets of Statuspage's real captures (Instructure summary.json, Discord incidents).
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_KEYS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
AFFECTED_KEYS = {"code", "name", "old_status", "new_status"}
ENDPOINTS = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]


def _setup(staff: TestClient, clock: FakeClock) -> dict[str, Any]:
    clock.set(datetime(2025, 9, 7, 9, 0, tzinfo=UTC))
    group = make_component(staff, name="Zaptec Cloud Services", group=True)
    ocpp = make_component(staff, name="OCPP", group_id=group["id"], description="OCPP 1.6J")
    portal = make_component(staff, name="Portal")
    incident = open_incident(
        staff, components={ocpp["id"]: "partial_outage"}, display_at="2025-09-07T11:00:00+02:00"
    )
    done = open_incident(
        staff,
        name="Earlier",
        status="resolved",
        backfilled=True,
        display_at="2025-09-06T10:00:00+02:00",
    )
    staff.put(f"/api/v1/incidents/{done['id']}/postmortem", json={"body": "SECRET DRAFT"})
    return {"group": group, "ocpp": ocpp, "portal": portal, "incident": incident, "done": done}


def test_summary_matches_statuspage_field_by_field(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    ids = _setup(staff, clock)
    body = client.get("/api/v2/summary.json").json()
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(body["page"]) == PAGE_KEYS
    assert body["page"]["time_zone"] == "Europe/Oslo"
    assert body["page"]["url"] == "https://status.example.com"
    # One of two components in partial outage reads "Minor Service Outage", but the open
    # incident's impact (major) is worse and lifts the indicator (components.present.page_status).
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    by_id = {c["id"]: c for c in body["components"]}
    group, ocpp, portal = (by_id[ids[k]["id"]] for k in ("group", "ocpp", "portal"))
    assert set(group) == COMPONENT_KEYS | {"components"}
    assert group["group"] is True and group["components"] == [ocpp["id"]]
    assert group["status"] == "partial_outage"
    assert set(ocpp) == COMPONENT_KEYS  # no "components" key on a plain component
    assert ocpp["group_id"] == group["id"] and portal["group_id"] is None
    (incident,) = body["incidents"]  # unresolved only
    assert set(incident) == INCIDENT_KEYS
    (update,) = incident["incident_updates"]
    assert set(update) == UPDATE_KEYS
    assert update["affected_components"] == [
        {
            "code": ocpp["id"],
            "name": "Zaptec Cloud Services - OCPP",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert set(update["affected_components"][0]) == AFFECTED_KEYS
    assert [set(c) for c in incident["components"]] == [COMPONENT_KEYS]


def test_times_carry_the_page_offset(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    _setup(staff, clock)
    incident = client.get("/api/v2/incidents/unresolved.json").json()["incidents"][0]
    assert incident["started_at"] == "2025-09-07T11:00:00.000+02:00"
    assert incident["incident_updates"][0]["display_at"] == "2025-09-07T11:00:00.000+02:00"
    page = client.get("/api/v2/status.json").json()["page"]
    assert page["updated_at"].endswith("+02:00")


def test_incidents_list_all_statuses_and_never_a_draft(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    ids = _setup(staff, clock)
    response = client.get("/api/v2/incidents.json")
    assert "SECRET DRAFT" not in response.text
    listed = response.json()["incidents"]
    assert [i["id"] for i in listed] == [ids["incident"]["id"], ids["done"]["id"]]
    assert listed[1]["status"] == "resolved"
    assert [set(i) ^ INCIDENT_KEYS for i in listed] == [set(), set()]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_is_open_json_and_revalidates(
    path: str, staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    _setup(staff, clock)
    first = client.get(f"/api/v2/{path}")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.headers["access-control-allow-origin"] == "*"
    assert set(first.json()["page"]) == PAGE_KEYS
    again = client.get(f"/api/v2/{path}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["access-control-allow-origin"] == "*"


def test_a_change_changes_the_etag(staff: TestClient, client: TestClient, clock: FakeClock) -> None:
    ids = _setup(staff, clock)
    etag = client.get("/api/v2/status.json").headers["etag"]
    staff.post(
        f"/api/v1/incidents/{ids['incident']['id']}/updates",
        json={"status": "resolved", "body": "Fixed."},
    )
    fresh = client.get("/api/v2/status.json", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.json()["status"] == {"indicator": "none", "description": "All Systems Operational"}


def test_history_pages_past_the_fifty_most_recent(
    staff: TestClient, client: TestClient, clock: FakeClock
) -> None:
    names = []
    for n in range(55):
        clock.advance(hours=1)
        names.append(open_incident(staff, name=f"Incident {n}", status="resolved")["name"])
    first = client.get("/api/v2/incidents.json")
    assert len(first.json()["incidents"]) == 50
    assert first.headers["x-total-count"] == "55"
    assert 'rel="next"' in first.headers["link"]
    assert "page=2" in first.headers["link"]
    second = client.get("/api/v2/incidents.json", params={"page": 2})
    assert [i["name"] for i in second.json()["incidents"]] == names[4::-1]
    assert 'rel="prev"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    window = client.get(
        "/api/v2/incidents.json",
        params={"since": "2025-09-07T10:30:00Z", "until": "2025-09-07T13:30:00Z", "per_page": 10},
    )
    assert [i["name"] for i in window.json()["incidents"]] == [
        "Incident 3",
        "Incident 2",
        "Incident 1",
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"per_page": "101"},
        {"per_page": "0"},
        {"page": "zero"},
        {"since": "yesterday"},
        {"since": "2025-09-07T10:30:00"},
    ],
)
def test_bad_parameters_are_json_errors(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/api/v2/incidents.json", params=query)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01T00:00:00+01:00"},
        {"until": "9999-12-31T23:59:59-01:00"},
    ],
)
def test_out_of_range_dates_are_422(client: TestClient, query: dict[str, str]) -> None:
    for path in ("incidents.json", "scheduled-maintenances.json"):
        assert client.get(f"/api/v2/{path}", params=query).status_code == 422


def test_a_browser_preflight_is_answered_for_any_origin(client: TestClient) -> None:
    """A script on another origin sending a custom header first asks with OPTIONS."""
    asked = {
        "Origin": "https://dashboard.example.org",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-requested-with, cache-control",
    }
    for path in [*ENDPOINTS, "components/abc/uptime.json"]:
        response = client.options(f"/api/v2/{path}", headers=asked)
        assert response.status_code == 204, path
        assert response.headers["access-control-allow-origin"] == "*"
        assert "GET" in response.headers["access-control-allow-methods"]
        assert (
            response.headers["access-control-allow-headers"]
            == asked["Access-Control-Request-Headers"]
        )
        assert int(response.headers["access-control-max-age"]) > 0
    # Only the public API is open: the staff API answers no preflight.
    staff_api = client.options("/api/v1/incidents", headers=asked)
    assert "access-control-allow-origin" not in staff_api.headers


def test_every_v2_answer_is_readable_cross_origin_errors_and_cache_hits_included(
    client: TestClient,
) -> None:
    origin = {"Origin": "https://dashboard.example.org"}
    answers = {
        "miss": client.get("/api/v2/summary.json", headers=origin),
        "hit": client.get("/api/v2/summary.json", headers=origin),
        "304": client.get(
            "/api/v2/summary.json",
            headers={**origin, "If-None-Match": client.get("/api/v2/summary.json").headers["etag"]},
        ),
        "422": client.get("/api/v2/incidents.json", params={"page": 0}, headers=origin),
        "404": client.get("/api/v2/nothing-here.json", headers=origin),
        "no origin": client.get("/api/v2/status.json"),
    }
    assert answers["hit"].headers["x-pharos-cache"] == "hit"
    assert [a.status_code for a in answers.values()] == [200, 200, 304, 422, 404, 200]
    for name, answer in answers.items():
        assert answer.headers.get("access-control-allow-origin") == "*", name
        assert "Link" in answer.headers["access-control-expose-headers"], name
    assert answers["422"].json()["code"] == "validation_error"

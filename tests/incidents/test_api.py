"""Incidents and their timeline through the staff API, on a real database."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import AuditEvent, ComponentStatusChange
from tests.conftest import FakeClock, make_component, open_incident


def _status(staff: TestClient, component_id: str) -> str:
    status: str = staff.get(f"/api/v1/components/{component_id}").json()["status"]
    return status


def _post(staff: TestClient, incident_id: str, **fields: object) -> dict[str, object]:
    response = staff.post(f"/api/v1/incidents/{incident_id}/updates", json=fields)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_open_incident_sets_components_and_derives_impact(staff: TestClient) -> None:
    ocpp = make_component(staff, name="OCPP")
    portal = make_component(staff, name="Portal")
    incident = open_incident(staff, components={ocpp["id"]: "degraded_performance"})
    assert incident["status"] == "investigating"
    assert incident["impact"] == "minor"
    assert _status(staff, ocpp["id"]) == "degraded_performance"
    assert _status(staff, portal["id"]) == "operational"
    (update,) = incident["incident_updates"]
    assert update["affected_components"] == [
        {
            "code": ocpp["id"],
            "name": "OCPP",
            "old_status": "operational",
            "new_status": "degraded_performance",
        }
    ]
    assert [c["id"] for c in incident["components"]] == [ocpp["id"]]
    assert incident["shortlink"] == f"https://status.example.com/incidents/{incident['id']}"


def test_impact_is_the_worst_reached_and_override_wins(staff: TestClient) -> None:
    ocpp = make_component(staff, name="OCPP")
    incident = open_incident(staff, components={ocpp["id"]: "partial_outage"})
    after = _post(
        staff,
        incident["id"],
        status="identified",
        body="Found it.",
        components={ocpp["id"]: "major_outage"},
    )
    assert after["impact"] == "critical"
    after = _post(
        staff,
        incident["id"],
        status="monitoring",
        body="Better.",
        components={ocpp["id"]: "degraded_performance"},
    )
    assert after["impact"] == "critical"  # worst reached during the incident, not current
    quiet = open_incident(staff, name="Heads-up", impact_override="minor")
    assert quiet["impact"] == "minor"
    assert quiet["components"] == []


def test_every_update_repeats_all_affected_components(staff: TestClient) -> None:
    a = make_component(staff, name="A")
    b = make_component(staff, name="B")
    incident = open_incident(staff, components={a["id"]: "major_outage"})
    after = _post(
        staff,
        incident["id"],
        status="identified",
        body="B too.",
        components={b["id"]: "partial_outage"},
    )
    newest = after["incident_updates"][0]  # type: ignore[index]
    assert {
        (x["code"], x["old_status"], x["new_status"]) for x in newest["affected_components"]
    } == {(a["id"], "major_outage", "major_outage"), (b["id"], "operational", "partial_outage")}


def test_resolving_restores_components_unless_another_incident_holds_them(
    staff: TestClient,
) -> None:
    shared = make_component(staff, name="OCPP")
    own = make_component(staff, name="Portal")
    first = open_incident(
        staff, components={shared["id"]: "major_outage", own["id"]: "partial_outage"}
    )
    open_incident(staff, name="Second", components={shared["id"]: "degraded_performance"})
    assert _status(staff, shared["id"]) == "degraded_performance"
    _post(
        staff,
        first["id"],
        status="identified",
        body="Worse.",
        components={shared["id"]: "major_outage"},
    )
    resolved = _post(staff, first["id"], status="resolved", body="Fixed.")
    assert _status(staff, own["id"]) == "operational"
    # The second incident still claims degraded performance on the shared component.
    assert _status(staff, shared["id"]) == "degraded_performance"
    assert resolved["status"] == "resolved"
    # A status named explicitly on the resolving update wins.
    third = open_incident(staff, name="Third", components={own["id"]: "major_outage"})
    _post(
        staff,
        third["id"],
        status="resolved",
        body="Mostly.",
        components={own["id"]: "degraded_performance"},
    )
    assert _status(staff, own["id"]) == "degraded_performance"


def test_timestamps_follow_the_timeline(staff: TestClient, clock: FakeClock) -> None:
    ocpp = make_component(staff, name="OCPP")
    clock.set(datetime.fromisoformat("2025-09-07T13:00:00+00:00"))
    incident = open_incident(
        staff,
        components={ocpp["id"]: "partial_outage"},
        display_at="2025-09-07T11:12:00+02:00",
        started_at="2025-09-07T11:00:00+02:00",
    )
    assert incident["started_at"] == "2025-09-07T09:00:00.000Z"
    assert incident["monitoring_at"] is None
    _post(
        staff,
        incident["id"],
        status="monitoring",
        body="Watching.",
        display_at="2025-09-07T11:35:00+02:00",
    )
    done = _post(
        staff, incident["id"], status="resolved", body="Done.", display_at="2025-09-07T10:39:00Z"
    )
    assert (done["monitoring_at"], done["resolved_at"]) == (
        "2025-09-07T09:35:00.000Z",
        "2025-09-07T10:39:00.000Z",
    )
    assert [u["status"] for u in done["incident_updates"]] == [  # type: ignore[attr-defined]
        "resolved",
        "monitoring",
        "investigating",
    ]


def test_back_dated_changes_land_in_the_log_at_their_display_time(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    ocpp = make_component(staff, name="OCPP")
    clock.set(datetime.fromisoformat("2025-09-07T14:00:00+00:00"))
    incident = open_incident(
        staff, components={ocpp["id"]: "partial_outage"}, display_at="2025-09-07T09:12:00Z"
    )
    _post(staff, incident["id"], status="resolved", body="Done.", display_at="2025-09-07T10:39:00Z")
    with unit_of_work(engine) as session:
        log = list(
            session.exec(select(ComponentStatusChange).order_by(col(ComponentStatusChange.id)))
        )
    assert [(e.new_status, e.effective_at.isoformat()) for e in log] == [
        ("partial_outage", "2025-09-07T09:12:00+00:00"),
        ("operational", "2025-09-07T10:39:00+00:00"),
    ]
    assert all(e.incident_id == incident["id"] for e in log)
    assert all(e.recorded_at > e.effective_at for e in log)


def test_invalid_transitions_are_409_and_change_nothing(staff: TestClient) -> None:
    ocpp = make_component(staff, name="OCPP")
    incident = open_incident(staff, components={ocpp["id"]: "major_outage"})
    _post(staff, incident["id"], status="resolved", body="Done.")
    reopened = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "investigating",
            "body": "Back?",
            "components": {ocpp["id"]: "major_outage"},
        },
    )
    assert reopened.status_code == 409
    assert "new incident" in reopened.json()["detail"]
    assert _status(staff, ocpp["id"]) == "operational"
    note = _post(staff, incident["id"], status="resolved", body="Root cause follows.")
    assert len(note["incident_updates"]) == 3  # type: ignore[arg-type]
    pm = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates", json={"status": "postmortem", "body": "x"}
    )
    assert pm.status_code == 422
    assert "publishing a postmortem" in pm.json()["message"]


def test_bad_input_gets_a_clear_4xx_and_changes_nothing(staff: TestClient) -> None:
    ocpp = make_component(staff, name="OCPP")
    group = make_component(staff, name="Cloud", group=True)
    incident = open_incident(staff)
    cases: list[tuple[str, dict[str, object], int, str]] = [
        (
            "/api/v1/incidents",
            {"name": "X", "body": "y", "components": {"nope": "major_outage"}},
            422,
            "unknown component",
        ),
        (
            "/api/v1/incidents",
            {"name": "X", "body": "y", "components": {group["id"]: "major_outage"}},
            422,
            "group",
        ),
        (
            "/api/v1/incidents",
            {"name": "X", "body": "y", "components": {ocpp["id"]: "down"}},
            422,
            "components",
        ),
        ("/api/v1/incidents", {"name": "X", "body": "y", "status": "fixed"}, 422, "status"),
        ("/api/v1/incidents", {"name": "", "body": "y"}, 422, "name"),
        ("/api/v1/incidents", {"name": "X", "body": "y" * 20_001}, 422, "body"),
        (
            "/api/v1/incidents",
            {"name": "X", "body": "y", "display_at": "2025-09-07T11:12:00"},
            422,
            "timezone",
        ),
        (
            "/api/v1/incidents",
            {"name": "X", "body": "y", "display_at": "2999-01-01T00:00:00Z"},
            422,
            "future",
        ),
        (
            "/api/v1/incidents",
            {
                "name": "X",
                "body": "y",
                "display_at": "2025-09-07T08:00:00Z",
                "started_at": "2025-09-07T08:30:00Z",
            },
            422,
            "started_at",
        ),
        (
            f"/api/v1/incidents/{incident['id']}/updates",
            {"status": "identified", "body": "y", "components": {"nope": "major_outage"}},
            422,
            "unknown component",
        ),
        (f"/api/v1/incidents/{incident['id']}/updates", {"status": "identified"}, 422, "body"),
        ("/api/v1/incidents/nope/updates", {"status": "identified", "body": "y"}, 404, "nope"),
    ]
    for path, payload, status, hint in cases:
        response = staff.post(path, json=payload)
        assert response.status_code == status, (payload, response.text)
        body = response.json()
        assert hint in (body.get("message") or body["detail"]), (payload, body)
    assert len(staff.get("/api/v1/incidents").json()) == 1
    assert len(staff.get(f"/api/v1/incidents/{incident['id']}").json()["incident_updates"]) == 1
    assert _status(staff, ocpp["id"]) == "operational"


def test_edit_update_body_and_time_is_audited_status_is_not_editable(
    staff: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff, body="We are investigatign.")
    update_id = incident["incident_updates"][0]["id"]
    path = f"/api/v1/incidents/{incident['id']}/updates/{update_id}"
    fixed = staff.patch(path, json={"body": "We are investigating."})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["body"] == "We are investigating."
    refused = staff.patch(path, json={"status": "resolved"})
    assert refused.status_code == 422
    assert "post a new update" in refused.json()["message"]
    assert staff.patch(path, json={}).status_code == 422
    assert (
        staff.patch(
            f"/api/v1/incidents/{incident['id']}/updates/nope", json={"body": "x"}
        ).status_code
        == 404
    )
    with unit_of_work(engine) as session:
        edits = list(
            session.exec(select(AuditEvent).where(AuditEvent.action == "incident.update_edited"))
        )
    assert len(edits) == 1
    assert edits[0].data["before"]["body"] == "We are investigatign."
    assert edits[0].actor == "token:tester"


def test_list_filters_and_pages(staff: TestClient, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        clock.advance(minutes=10)
        ids.append(open_incident(staff, name=f"Incident {n}")["id"])
    _post(staff, ids[0], status="resolved", body="Done.")
    everything = staff.get("/api/v1/incidents")
    assert [i["id"] for i in everything.json()] == ids[::-1]
    assert everything.headers["x-total-count"] == "3"
    unresolved = staff.get("/api/v1/incidents", params={"status": ["investigating"]}).json()
    assert [i["id"] for i in unresolved] == ids[:0:-1]
    second = staff.get("/api/v1/incidents", params={"per_page": 2, "page": 2}).json()
    assert [i["id"] for i in second] == [ids[0]]
    assert staff.get("/api/v1/incidents", params={"per_page": 500}).status_code == 422


def test_openapi_describes_the_staff_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/components",
        "/api/v1/components/{component_id}",
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}",
        "/api/v1/incidents/{incident_id}/updates",
        "/api/v1/incidents/{incident_id}/updates/{update_id}",
        "/api/v1/incidents/{incident_id}/postmortem",
        "/api/v1/incidents/{incident_id}/postmortem/publish",
        "/api/v1/incidents/{incident_id}/postmortem/unpublish",
    ):
        assert path in paths, path
    assert "IncidentPublic" in spec["components"]["schemas"]


def test_oversized_request_is_413(staff: TestClient) -> None:
    response = staff.post(
        "/api/v1/incidents", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_an_incident_claims_only_what_it_set_itself(staff: TestClient) -> None:
    c = make_component(staff, name="OCPP")
    b = open_incident(staff, name="B", components={c["id"]: "degraded_performance"})
    a = open_incident(staff, name="A", components={c["id"]: "major_outage"})
    # B's routine update repeats the status it finds (major, set by A) without setting it.
    after = _post(staff, b["id"], status="identified", body="Still looking.")
    assert after["impact"] == "minor"
    _post(staff, a["id"], status="resolved", body="A is fixed.")
    assert _status(staff, c["id"]) == "degraded_performance"  # what B itself set


def test_an_incident_reported_once_over_hands_its_components_back(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    c = make_component(staff, name="OCPP")
    clock.set(datetime.fromisoformat("2025-09-08T12:00:00+00:00"))
    done = open_incident(
        staff,
        name="Yesterday",
        status="resolved",
        backfilled=True,
        components={c["id"]: "major_outage"},
        started_at="2025-09-07T09:12:00Z",
        display_at="2025-09-07T10:39:00Z",
    )
    assert done["impact"] == "critical"
    assert _status(staff, c["id"]) == "operational"
    with unit_of_work(engine) as session:
        log = list(
            session.exec(select(ComponentStatusChange).order_by(col(ComponentStatusChange.id)))
        )
    assert [(e.new_status, e.effective_at.isoformat()) for e in log] == [
        ("major_outage", "2025-09-07T09:12:00+00:00"),
        ("operational", "2025-09-07T10:39:00+00:00"),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"impact_override": "maintenance"},
        {"display_at": "0001-01-01T00:30:00+01:00"},
        {"started_at": "9999-12-31T23:59:59-01:00"},
    ],
)
def test_impossible_values_are_422_not_500(staff: TestClient, payload: dict[str, str]) -> None:
    response = staff.post("/api/v1/incidents", json={"name": "X", "body": "y", **payload})
    assert response.status_code == 422, response.text

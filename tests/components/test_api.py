"""Components through the staff API, on a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import AuditEvent, ComponentStatusChange
from tests.conftest import FakeClock, make_component, open_incident


def test_requires_a_valid_token(client: TestClient) -> None:
    assert client.get("/api/v1/components").status_code == 401
    bad = client.get("/api/v1/components", headers={"Authorization": "Bearer phr_nope"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/components", json={"name": "X"}).status_code == 401


def test_create_list_and_statuspage_shape(staff: TestClient) -> None:
    group = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J", group_id=group["id"], description="ws")
    api = make_component(staff, name="REST API", group_id=group["id"])
    site = make_component(staff, name="Website")
    listed = staff.get("/api/v1/components").json()
    assert [c["name"] for c in listed] == ["Charging cloud", "OCPP 1.6J", "REST API", "Website"]
    by_id = {c["id"]: c for c in listed}
    assert by_id[group["id"]]["group"] is True
    assert by_id[group["id"]]["components"] == [ocpp["id"], api["id"]]
    assert by_id[ocpp["id"]]["group_id"] == group["id"]
    assert (by_id[ocpp["id"]]["position"], by_id[api["id"]]["position"]) == (1, 2)
    assert by_id[site["id"]]["position"] == 2
    expected = {
        "id",
        "page_id",
        "group_id",
        "created_at",
        "updated_at",
        "group",
        "name",
        "description",
        "position",
        "status",
        "showcase",
        "only_show_if_degraded",
        "start_date",
    }
    assert expected <= set(by_id[ocpp["id"]])


def test_group_status_is_the_worst_of_its_components(staff: TestClient) -> None:
    group = make_component(staff, name="Cloud", group=True)
    a = make_component(staff, name="A", group_id=group["id"])
    make_component(staff, name="B", group_id=group["id"], status="degraded_performance")
    staff.patch(f"/api/v1/components/{a['id']}", json={"status": "partial_outage"})
    got = staff.get(f"/api/v1/components/{group['id']}").json()
    assert got["status"] == "partial_outage"
    refused = staff.patch(f"/api/v1/components/{group['id']}", json={"status": "major_outage"})
    assert refused.status_code == 422
    assert "group" in refused.json()["detail"]


def test_status_changes_are_logged_exactly(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    c = make_component(staff, name="OCPP")
    clock.advance(minutes=5)
    staff.patch(f"/api/v1/components/{c['id']}", json={"status": "major_outage"})
    first = clock.now
    clock.advance(minutes=30)
    staff.patch(f"/api/v1/components/{c['id']}", json={"status": "operational"})
    staff.patch(f"/api/v1/components/{c['id']}", json={"name": "OCPP 1.6J"})  # not a change
    with unit_of_work(engine) as session:
        log = list(
            session.exec(select(ComponentStatusChange).order_by(col(ComponentStatusChange.id)))
        )
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert [(e.old_status, e.new_status) for e in log] == [
        ("operational", "major_outage"),
        ("major_outage", "operational"),
    ]
    assert log[0].effective_at == first
    assert (log[1].effective_at - log[0].effective_at).total_seconds() >= 30 * 60
    assert actions.count("component.updated") == 3


def test_reorder_and_move_between_groups(staff: TestClient) -> None:
    a = make_component(staff, name="A")
    b = make_component(staff, name="B")
    c = make_component(staff, name="C")
    staff.patch(f"/api/v1/components/{c['id']}", json={"position": 1})
    assert [x["name"] for x in staff.get("/api/v1/components").json()] == ["C", "A", "B"]
    g = make_component(staff, name="G", group=True)
    moved = staff.patch(f"/api/v1/components/{a['id']}", json={"group_id": g["id"]}).json()
    assert moved["group_id"] == g["id"] and moved["position"] == 1
    positions = {x["name"]: x["position"] for x in staff.get("/api/v1/components").json()}
    assert positions == {"C": 1, "B": 2, "G": 3, "A": 1}
    assert b["id"]


def test_bad_input_is_refused_and_changes_nothing(staff: TestClient) -> None:
    g = make_component(staff, name="G", group=True)
    plain = make_component(staff, name="Plain")
    cases = [
        ({"name": ""}, 422),
        ({"name": "   "}, 422),
        ({"name": "x" * 300}, 422),
        ({"name": "X", "status": "on_fire"}, 422),
        ({"name": "X", "group_id": "nosuchgroup"}, 422),
        ({"name": "X", "group_id": plain["id"]}, 422),
        ({"name": "X", "group": True, "group_id": g["id"]}, 422),
        ({"name": "X", "colour": "red"}, 422),
    ]
    for payload, status in cases:
        response = staff.post("/api/v1/components", json=payload)
        assert response.status_code == status, (payload, response.text)
        assert response.json()["detail"]
    assert len(staff.get("/api/v1/components").json()) == 2
    malformed = staff.post(
        "/api/v1/components", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert "JSON" in malformed.json()["message"]
    assert staff.patch("/api/v1/components/nope", json={"name": "x"}).status_code == 404
    assert staff.patch(f"/api/v1/components/{plain['id']}", json={"name": None}).status_code == 422


def test_delete_rules(staff: TestClient) -> None:
    g = make_component(staff, name="G", group=True)
    child = make_component(staff, name="Child", group_id=g["id"])
    other = make_component(staff, name="Other")
    assert staff.delete(f"/api/v1/components/{g['id']}").status_code == 409
    incident = open_incident(staff, components={other["id"]: "major_outage"})
    blocked = staff.delete(f"/api/v1/components/{other['id']}")
    assert blocked.status_code == 409 and incident["id"] in blocked.json()["detail"]
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates", json={"status": "resolved", "body": "Fixed."}
    )
    assert staff.delete(f"/api/v1/components/{other['id']}").status_code == 204
    assert staff.delete(f"/api/v1/components/{child['id']}").status_code == 204
    assert staff.delete(f"/api/v1/components/{g['id']}").status_code == 204
    assert staff.get("/api/v1/components").json() == []
    # History keeps the deleted component's name.
    kept = staff.get(f"/api/v1/incidents/{incident['id']}").json()
    assert kept["incident_updates"][-1]["affected_components"][0]["name"] == "Other"

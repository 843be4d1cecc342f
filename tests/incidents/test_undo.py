"""Undoing what staff did: rename an incident, delete an update, delete an incident.

Each is audited, disappears from every public answer (pages, v2, feeds, the static export,
through the render cache) and tells subscribers nothing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.auth import service as auth
from app.db import unit_of_work
from app.models import AuditEvent, ComponentStatusChange, IncidentUpdate, OutboxEvent
from app.publishing.export import export_site
from tests.conftest import START, make_component, open_incident

PUBLIC = (
    "/",
    "/history/",
    "/api/v2/incidents.json",
    "/api/v2/summary.json",
    "/history.atom",
    "/history.rss",
    "/updates.atom",
    "/updates.rss",
)


def _public_text(client: TestClient) -> str:
    answers = [client.get(path) for path in PUBLIC]
    assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
    return "\n".join(a.text for a in answers)


def _events(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return len(session.exec(select(OutboxEvent.id)).all())


def _audit(engine: Engine, action: str) -> list[AuditEvent]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_rename_changes_every_public_answer_audited_and_silent(
    staff: TestClient, client: TestClient, engine: Engine
) -> None:
    incident = open_incident(staff, name="Test incident plase ignore")
    assert "plase ignore" in _public_text(client)  # cached renders now hold the old name
    before = _events(engine)
    response = staff.patch(f"/api/v1/incidents/{incident['id']}", json={"name": "Delays"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Delays"
    text = _public_text(client)
    assert "plase ignore" not in text
    assert "Delays" in text
    assert "Delays" in client.get(f"/incidents/{incident['id']}/").text
    assert _events(engine) == before  # nobody is told of a rename
    (audited,) = _audit(engine, "incident.edited")
    assert audited.data["before"]["name"] == "Test incident plase ignore"
    assert audited.data["after"]["name"] == "Delays"


def test_rename_refuses_bad_input_clearly(staff: TestClient) -> None:
    incident = open_incident(staff)
    url = f"/api/v1/incidents/{incident['id']}"
    assert staff.patch(url, json={}).status_code == 422
    assert staff.patch(url, json={"name": ""}).status_code == 422
    assert staff.patch(url, json={"name": None}).status_code == 422
    refused = staff.patch(url, json={"status": "resolved"})
    assert refused.status_code == 422
    assert "posting an update" in refused.text
    missing = staff.patch("/api/v1/incidents/nope", json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["code"]


def test_delete_a_stray_update(staff: TestClient, client: TestClient, engine: Engine) -> None:
    incident = open_incident(staff, body="We are investigating.")
    url = f"/api/v1/incidents/{incident['id']}/updates"
    stray = staff.post(url, json={"status": "investigating", "body": "Wrong window, sorry"})
    assert stray.status_code == 201
    stray_id = stray.json()["incident_updates"][0]["id"]
    assert "Wrong window" in _public_text(client)
    before = _events(engine)
    response = staff.delete(f"{url}/{stray_id}")
    assert response.status_code == 200, response.text
    assert [u["id"] for u in response.json()["incident_updates"]] == [
        incident["incident_updates"][0]["id"]
    ]
    text = _public_text(client) + client.get(f"/incidents/{incident['id']}/").text
    assert "Wrong window" not in text
    assert "We are investigating." in text
    assert _events(engine) == before
    (audited,) = _audit(engine, "incident.update_deleted")
    assert audited.data["body"] == "Wrong window, sorry"  # the text is kept in the audit log
    assert staff.delete(f"{url}/{stray_id}").status_code == 404


def test_deleting_an_update_never_contradicts_the_status(staff: TestClient) -> None:
    incident = open_incident(staff)
    url = f"/api/v1/incidents/{incident['id']}/updates"
    (only,) = incident["incident_updates"]
    refused = staff.delete(f"{url}/{only['id']}")
    assert refused.status_code == 409
    assert "only update" in refused.json()["detail"]
    resolved = staff.post(url, json={"status": "resolved", "body": "Fixed."}).json()
    resolving = resolved["incident_updates"][0]["id"]
    refused = staff.delete(f"{url}/{resolving}")
    assert refused.status_code == 409  # it made the incident resolved
    # the first update can go: the resolution still explains the status
    after = staff.delete(f"{url}/{only['id']}")
    assert after.status_code == 200, after.text
    assert after.json()["status"] == "resolved"
    assert after.json()["resolved_at"] is not None


def test_delete_an_incident_everywhere_silently(
    staff: TestClient, client: TestClient, app: FastAPI, engine: Engine, tmp_path: Path
) -> None:
    ocpp = make_component(staff, name="OCPP")
    keep = open_incident(staff, name="Real outage")
    test = open_incident(
        staff, name="Test incident plase ignore", components={ocpp["id"]: "major_outage"}
    )
    staff.put(f"/api/v1/incidents/{test['id']}/postmortem", json={"body": "draft"})
    assert "plase ignore" in _public_text(client)
    assert export_site(app, tmp_path / "before").skipped == []
    assert (tmp_path / "before" / "incidents" / test["id"] / "index.html").exists()
    before = _events(engine)

    response = staff.delete(f"/api/v1/incidents/{test['id']}")
    assert response.status_code == 204, response.text

    assert "plase ignore" not in _public_text(client)
    assert client.get(f"/incidents/{test['id']}/").status_code == 404
    assert staff.get(f"/api/v1/incidents/{test['id']}").status_code == 404
    assert staff.get(f"/api/v1/incidents/{keep['id']}").status_code == 200
    # the components it held go back, as resolving would, and nobody hears of it
    assert staff.get(f"/api/v1/components/{ocpp['id']}").json()["status"] == "operational"
    assert _events(engine) == before
    report = export_site(app, tmp_path / "after")
    assert report.skipped == []
    assert not (tmp_path / "after" / "incidents" / test["id"]).exists()
    exported = "".join(
        p.read_text() for p in (tmp_path / "after").rglob("*") if p.suffix in {".html", ".atom"}
    )
    assert "plase ignore" not in exported
    with unit_of_work(engine) as session:
        assert not session.exec(
            select(IncidentUpdate).where(IncidentUpdate.incident_id == test["id"])
        ).all()
        log = session.exec(
            select(ComponentStatusChange).where(ComponentStatusChange.component_id == ocpp["id"])
        ).all()
        # the status log keeps what the component went through, without the incident
        assert [c.new_status.value for c in log][-2:] == ["major_outage", "operational"]
        assert all(c.incident_id is None for c in log)
    (audited,) = _audit(engine, "incident.deleted")
    assert audited.data["name"] == "Test incident plase ignore"
    assert audited.object_id == test["id"]
    assert staff.delete(f"/api/v1/incidents/{test['id']}").status_code == 404


def test_maintenance_is_not_deleted_as_an_incident(staff: TestClient) -> None:
    created = staff.post(
        "/api/v1/maintenances",
        json={
            "name": "Broker upgrade",
            "body": "x",
            "component_ids": [],
            "scheduled_for": "2025-10-26T02:30:00+02:00",
            "scheduled_until": "2025-10-26T04:30:00+02:00",
        },
    )
    assert created.status_code == 201, created.text
    assert staff.delete(f"/api/v1/incidents/{created.json()['id']}").status_code == 404


def test_read_token_may_not_delete(staff: TestClient, app: FastAPI, engine: Engine) -> None:
    incident = open_incident(staff)
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="reader", scope="read", now=START)
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as reader:
        assert reader.delete(f"/api/v1/incidents/{incident['id']}").status_code == 403

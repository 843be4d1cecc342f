"""Postmortems: draft, publish, unpublish."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.db import unit_of_work
from app.models import OutboxEvent
from tests.conftest import FakeClock, open_incident


def test_draft_publish_unpublish(staff: TestClient, clock: FakeClock) -> None:
    incident = open_incident(staff)
    base = f"/api/v1/incidents/{incident['id']}/postmortem"
    early = staff.put(base, json={"body": "## What happened\n\nTwo processors stalled."})
    assert early.status_code == 200
    assert early.json()["postmortem_body"].startswith("## What happened")
    refused = staff.post(f"{base}/publish")
    assert refused.status_code == 409 and "resolve" in refused.json()["detail"]
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates", json={"status": "resolved", "body": "Done."}
    )
    clock.set(datetime(2025, 9, 9, tzinfo=UTC))
    future = staff.post(f"{base}/publish", json={"published_at": "2025-09-10T13:56:00+02:00"})
    assert future.status_code == 422
    published = staff.post(f"{base}/publish", json={"published_at": "2025-09-08T13:56:00+02:00"})
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["status"] == "postmortem"
    assert body["postmortem_published_at"] == "2025-09-08T11:56:00.000Z"
    # A resolved note keeps the incident in postmortem.
    note = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "One more thing."},
    )
    assert note.json()["status"] == "postmortem"
    unpublished = staff.post(f"{base}/unpublish").json()
    assert unpublished["status"] == "resolved"
    assert unpublished["postmortem_published_at"] is None
    assert unpublished["postmortem_body"].startswith("## What happened")  # the draft is kept
    assert staff.post(f"{base}/unpublish").status_code == 409


def test_publish_needs_a_draft_and_bad_bodies_are_refused(staff: TestClient) -> None:
    incident = open_incident(staff, status="resolved", backfilled=True)
    base = f"/api/v1/incidents/{incident['id']}/postmortem"
    missing = staff.post(f"{base}/publish")
    assert missing.status_code == 409 and "draft" in missing.json()["detail"]
    assert staff.put(base, json={"body": ""}).status_code == 422
    assert staff.put(base, json={"body": "x" * 200_001}).status_code == 422
    staff.put(base, json={"body": "ok"})
    naive = staff.post(f"{base}/publish", json={"published_at": "2025-09-08T13:56:00"})
    assert naive.status_code == 422
    assert staff.get(f"/api/v1/incidents/{incident['id']}").json()["status"] == "resolved"
    assert staff.put("/api/v1/incidents/nope/postmortem", json={"body": "x"}).status_code == 404


def test_republishing_notifies_nobody_unless_asked(staff: TestClient, engine: Engine) -> None:
    """The API's default: the first publication is news, a republished fix is not."""
    incident = open_incident(staff, status="resolved", body="Fixed.")
    base = f"/api/v1/incidents/{incident['id']}/postmortem"

    def notified() -> int:
        with unit_of_work(engine) as session:
            events = session.exec(
                select(OutboxEvent).where(OutboxEvent.type == "incident.postmortem_published")
            ).all()
        return len(events)

    staff.put(base, json={"body": "Two consumers stalled."})
    assert staff.post(f"{base}/publish").status_code == 200
    assert notified() == 1
    staff.put(base, json={"body": "Two consumers stalled for two hours."})
    assert staff.post(f"{base}/publish").status_code == 200
    assert staff.post(f"{base}/publish", json={"notify_subscribers": False}).status_code == 200
    assert staff.post(f"{base}/unpublish").status_code == 200
    assert staff.post(f"{base}/publish").status_code == 200
    assert notified() == 1
    assert staff.post(f"{base}/publish", json={"notify_subscribers": True}).status_code == 200
    assert notified() == 2

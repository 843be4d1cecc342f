"""Structured impact: "N of M chargers affected" typed by staff or set by the roll-up, on the
incident page, in the feeds and webhook payloads, and as an additive field of the v2 JSON
that is absent for incidents without it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import unit_of_work
from app.models import OutboxEvent
from tests.conftest import make_component


def events(engine: Engine) -> list[dict[str, Any]]:
    with unit_of_work(engine) as session:
        rows = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id)))
        return [dict(r.payload) for r in rows]


def test_staff_typed_impact_shows_everywhere(
    staff: TestClient, client: TestClient, engine: Engine
) -> None:
    oslo = make_component(staff, name="Oslo chargers")
    opened = staff.post(
        "/api/v1/incidents",
        json={
            "name": "Chargers offline in Oslo",
            "body": "We are investigating.",
            "components": {oslo["id"]: "partial_outage"},
            "chargers_affected": 12,
            "chargers_total": 80,
        },
    )
    assert opened.status_code == 201, opened.text
    incident = opened.json()
    assert incident["chargers"] == {
        "affected": 12,
        "total": 80,
        "text": "12 of 80 chargers affected",
    }
    plain = staff.post("/api/v1/incidents", json={"name": "Slow API", "body": "Looking."})
    assert plain.status_code == 201
    # v2 JSON: the field is there for the charger incident and absent for the other.
    v2 = {i["name"]: i for i in client.get("/api/v2/incidents.json").json()["incidents"]}
    assert v2["Chargers offline in Oslo"]["chargers"]["text"] == "12 of 80 chargers affected"
    assert "chargers" not in v2["Slow API"]
    # The incident page says it in words.
    page = client.get(f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert '<p class="chargers-impact">12 of 80 chargers affected</p>' in page.text
    german = client.get(f"/de/incidents/{incident['id']}/")
    assert '<p class="chargers-impact">12 von 80 Ladepunkten betroffen</p>' in german.text
    # Feeds: the history feed's entry and the newest update's entry carry it.
    atom = ET.fromstring(client.get("/history.atom").content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    contents = {
        e.findtext("a:title", namespaces=ns): e.findtext("a:content", namespaces=ns) or ""
        for e in atom.findall("a:entry", ns)
    }
    assert "12 of 80 chargers affected" in contents["Chargers offline in Oslo"]
    assert "chargers affected" not in contents["Slow API"]
    # A later update changes the figure; the webhook payloads carry it as it was then.
    update = staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={
            "status": "identified",
            "body": "A power failure.",
            "chargers_affected": 20,
            "chargers_total": 80,
        },
    )
    assert update.status_code == 201, update.text
    charged = [e["incident"].get("chargers") for e in events(engine) if "incident" in e]
    assert {"affected": 12, "total": 80, "text": "12 of 80 chargers affected"} in charged
    assert {"affected": 20, "total": 80, "text": "20 of 80 chargers affected"} in charged
    assert None in charged  # the plain incident's payload has no such field


def test_bad_impact_is_a_clear_422(staff: TestClient) -> None:
    for extra, message in [
        ({"chargers_affected": 3}, "together"),
        ({"chargers_affected": 9, "chargers_total": 4}, "can't exceed"),
        ({"chargers_affected": -1, "chargers_total": 4}, "greater than or equal"),
    ]:
        answer = staff.post("/api/v1/incidents", json={"name": "x", "body": "y", **extra})
        assert answer.status_code == 422
        assert message in answer.text


def test_email_and_chat_say_it_in_words(staff: TestClient, engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    from app.notifications import chat
    from app.notifications.email import render_event
    from app.notifications.messages import event_view

    oslo = make_component(staff, name="Oslo chargers")
    opened = staff.post(
        "/api/v1/incidents",
        json={
            "name": "Chargers offline in Oslo",
            "body": "We are investigating.",
            "components": {oslo["id"]: "major_outage"},
            "chargers_affected": 7,
            "chargers_total": 9,
        },
    )
    assert opened.status_code == 201
    (payload,) = [e for e in events(engine) if "incident" in e]
    view = event_view("incident.created", payload, page_name="Zaptec", tz=ZoneInfo("Europe/Oslo"))
    assert view is not None and view.chargers == "7 of 9 chargers affected"
    mail = render_event(view)
    assert "7 of 9 chargers affected" in mail.text and "7 of 9 chargers affected" in mail.html
    assert "7 of 9 chargers affected" in str(chat.slack(view))

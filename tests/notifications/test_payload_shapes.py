"""Webhook bodies against Statuspage's, field for field.

The reference documents are the captured Statuspage webhooks in zulip's fixtures
(zerver/webhooks/statuspage/fixtures/{incident_update,component_status_update}.json, quoted in
../shared/reference/statuspage-v2-api.md), written here as shapes: the same keys, and values of
the same JSON type (null allowed only where Statuspage sends null for some incidents).
The only addition Pharos makes is the top-level `type`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.config import Settings
from app.maintenance.scheduler import MaintenanceScheduler
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, make_component, open_incident, subscribe_webhook

TIME = "2017-12-26T07:37:20.785Z"
META = {"unsubscribe": "url", "documentation": "url", "generated_at": TIME}
PAGE = {"id": "x", "status_indicator": "none", "status_description": "All Systems Operational"}
COMPONENT = {
    "status": "operational",
    "name": "Management Portal (example)",
    "created_at": TIME,
    "updated_at": TIME,
    "position": 2,
    "description": None,
    "showcase": True,
    "id": "zvdm6f7gf76j",
    "page_id": "jb7j80lkgqvb",
    "group_id": None,
}
AFFECTED = {"code": "x", "name": "x", "old_status": "operational", "new_status": "operational"}
UPDATE = {
    "status": "resolved",
    "body": "The database issue is resolved.",
    "created_at": TIME,
    "wants_twitter_update": False,
    "twitter_updated_at": None,
    "updated_at": TIME,
    "display_at": TIME,
    "affected_components": [AFFECTED],
    "custom_tweet": None,
    "deliver_notifications": True,
    "id": "cdwfdrjlp53y",
    "incident_id": "z3lct0r596n4",
}
INCIDENT = {
    "name": "Database query delays",
    "status": "resolved",
    "created_at": TIME,
    "updated_at": TIME,
    "monitoring_at": None,
    "resolved_at": TIME,
    "impact": "none",
    "shortlink": "http://stspg.io/646947c1e",
    "postmortem_ignored": False,
    "postmortem_body": None,
    "postmortem_body_last_updated_at": None,
    "postmortem_published_at": None,
    "postmortem_notified_subscribers": False,
    "postmortem_notified_twitter": False,
    "backfilled": False,
    "scheduled_for": None,
    "scheduled_until": None,
    "scheduled_remind_prior": False,
    "scheduled_reminded_at": None,
    "impact_override": None,
    "scheduled_auto_in_progress": False,
    "scheduled_auto_completed": False,
    "id": "z3lct0r596n4",
    "page_id": "jb7j80lkgqvb",
    "incident_updates": [UPDATE],
    "components": [COMPONENT],
}
INCIDENT_WEBHOOK = {"meta": META, "page": PAGE, "incident": INCIDENT}
COMPONENT_WEBHOOK = {
    "meta": META,
    "page": PAGE,
    "component": COMPONENT,
    "component_update": {
        "old_status": "operational",
        "new_status": "under_maintenance",
        "created_at": TIME,
        "component_type": "Component",
        "id": "nd963wv4j30b",
        "component_id": "sqm6pl84wzjc",
    },
}
# Keys Statuspage fills with a string for some incidents and null for others.
NULLABLE = {
    "monitoring_at",
    "resolved_at",
    "postmortem_body",
    "postmortem_body_last_updated_at",
    "postmortem_published_at",
    "scheduled_for",
    "scheduled_until",
    "scheduled_reminded_at",
    "impact_override",
    "description",
    "group_id",
    "affected_components",
    "twitter_updated_at",
    "custom_tweet",
}
STATUSPAGE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def differences(ours: Any, theirs: Any, path: str = "$") -> Iterator[str]:
    """Where `ours` doesn't have the shape of Statuspage's `theirs`."""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            yield f"{path}: {type(ours).__name__}, not an object"
            return
        if list(ours) != list(theirs):
            yield f"{path}: keys {list(ours)} != {list(theirs)}"
        for key, value in theirs.items():
            if key not in ours:
                continue
            if ours[key] is None and (key in NULLABLE or value is None):
                continue
            if value is None:
                # Null in the capture: a time, a string or a number elsewhere, never a list.
                if isinstance(ours[key], dict | list):
                    yield f"{path}.{key}: {ours[key]!r}"
                continue
            yield from differences(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list):
        if not isinstance(ours, list):
            yield f"{path}: {ours!r}, not a list"
            return
        for n, item in enumerate(ours):
            yield from differences(item, theirs[0], f"{path}[{n}]")
    elif type(ours) is not type(theirs):
        yield f"{path}: {ours!r} is not like {theirs!r}"
    elif (
        isinstance(theirs, str)
        and STATUSPAGE_TIME.match(theirs)
        and not STATUSPAGE_TIME.match(ours)
    ):
        yield f"{path}: {ours!r} is not a Statuspage time"


def test_the_shape_check_catches_what_it_must() -> None:
    plain = {**COMPONENT, "components": None}
    assert list(differences(plain, COMPONENT))  # the extra "components": null
    assert list(differences({**COMPONENT, "created_at": "2017-12-26T07:37:20Z"}, COMPONENT))
    assert list(differences({**INCIDENT, "components": None}, INCIDENT))
    assert list(differences(INCIDENT_WEBHOOK, INCIDENT_WEBHOOK)) == []


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


def test_every_webhook_is_statuspages_field_for_field(
    staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    received: list[dict[str, Any]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(204)

    subscribe_webhook(staff, "https://hooks.example.com/status")
    group = make_component(staff, name="Cloud", group=True)
    ocpp = make_component(staff, name="OCPP", group_id=group["id"])
    portal = make_component(staff, name="Portal", description="The portal")
    incident = open_incident(staff, components={ocpp["id"]: "major_outage"})
    base = f"/api/v1/incidents/{incident['id']}"
    update = {"status": "monitoring", "body": "Fixed.", "components": {ocpp["id"]: "operational"}}
    assert staff.post(f"{base}/updates", json=update).status_code == 201
    assert staff.post(f"{base}/updates", json={"status": "resolved", "body": "Done."}).status_code
    staff.put(f"{base}/postmortem", json={"body": "What happened."})
    assert staff.post(f"{base}/postmortem/publish").status_code == 200
    open_incident(staff, name="No components")
    start = clock.now + timedelta(hours=1)
    maintenance = {
        "name": "Upgrade",
        "body": "Upgrading.",
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        "component_ids": [portal["id"]],
    }
    assert staff.post("/api/v1/maintenances", json=maintenance).status_code == 201
    clock.set(start + timedelta(seconds=1))
    MaintenanceScheduler(engine, settings, clock=clock).run_once()

    async def deliver_all() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as client:
            worker = DeliveryWorker(engine, settings, client=client, clock=clock)
            while await worker.run_once(client):
                pass

    asyncio.run(deliver_all())
    kinds = {body["type"] for body in received}
    assert {
        "incident.created",
        "incident.updated",
        "incident.resolved",
        "incident.postmortem_published",
        "component.status_changed",
        "maintenance.scheduled",
        "maintenance.started",
    } <= kinds
    for body in received:
        kind = body.pop("type")
        reference = COMPONENT_WEBHOOK if kind.startswith("component.") else INCIDENT_WEBHOOK
        assert list(differences(body, reference)) == [], kind
        if "incident" in body:
            assert body["incident"]["components"] is not None
            assert all("components" not in c for c in body["incident"]["components"])
    scheduled = next(b for b in received if b.get("incident", {}).get("name") == "Upgrade")
    assert (
        scheduled["incident"]["scheduled_for"]
        == start.isoformat(timespec="milliseconds")[: -len("+00:00")] + "Z"
    )

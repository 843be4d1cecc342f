"""Webhook subscribers: the staff API, the public subscribe form, and where hooks may point."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.auth import service as auth
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import Subscriber
from peers.webhook_receiver import WebhookReceiver
from tests.conftest import FakeClock, make_component, subscribe_webhook


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Hooks in these tests never receive anything, so private names are fine but for one test."""
    return settings.model_copy(update={"webhook_allow_private": True})


def test_staff_manage_subscribers(staff: TestClient, client: TestClient) -> None:
    sub = subscribe_webhook(staff, "https://hooks.example.com/", email="ops@example.com")
    assert "secret" not in staff.get(f"/api/v1/subscribers/{sub['id']}").json()
    assert (
        staff.post(f"/api/v1/subscribers/{sub['id']}/quarantine").json()["status"] == "quarantined"
    )
    assert staff.delete(f"/api/v1/subscribers/{sub['id']}").status_code == 204
    assert staff.get(f"/api/v1/subscribers/{sub['id']}").status_code == 404
    assert client.get("/api/v1/subscribers").status_code == 401


def test_bad_subscriptions_are_refused(staff: TestClient) -> None:
    ocpp = make_component(staff, name="OCPP")
    subscribe_webhook(staff, "https://taken.example.com/")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"url": "not a url"}, 422, "http"),
        ({"url": "ftp://files.example.com/"}, 422, "http"),
        ({"url": "https://user:pw@hooks.example.com/"}, 422, "credentials"),
        ({"url": "https://x.example.com/", "component_ids": ["nope", ocpp["id"]]}, 422, "nope"),
        ({"url": "https://x.example.com/", "component_ids": []}, 422, "empty"),
        ({"url": "https://x.example.com/", "email": "not-an-email"}, 422, "email"),
        ({"url": "https://x.example.com/" + "a" * 3000}, 422, "url"),
        ({"url": "https://taken.example.com/"}, 409, "already"),
    ]
    for payload, status, hint in cases:
        response = staff.post("/api/v1/subscribers", json=payload)
        assert response.status_code == status, (payload, response.text)
        body = response.json()
        assert hint in (body.get("message") or body["detail"]), (payload, body)
    assert len(staff.get("/api/v1/subscribers").json()) == 1


def test_private_targets_are_refused_unless_allowed(
    engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    with unit_of_work(engine) as session:
        _, token = auth.create_token(session, name="t", now=clock())
    with TestClient(create_app(strict), headers={"Authorization": f"Bearer {token}"}) as staff:
        for url in (
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://169.254.169.254/latest/",
            "http://10.0.0.5/",
            "http://[::ffff:192.168.1.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[fd00:ec2::254]/",
            "http://[::a9fe:a9fe]/",
            "http://[fec0::1]/",
            "http://localhost/",
        ):
            response = staff.post("/api/v1/subscribers", json={"url": url})
            assert response.status_code == 422, url
            assert "non-public" in response.json()["detail"], url
        assert staff.get("/api/v1/subscribers").json() == []


def test_public_form_subscribes_and_the_link_unsubscribes(
    client: TestClient, engine: Engine, staff: TestClient
) -> None:
    ocpp = make_component(staff, name="OCPP")
    form = client.get("/subscribe")
    assert form.status_code == 200 and 'name="component_ids"' in form.text
    receiver = WebhookReceiver()  # answers the verification request
    done = client.post(
        "/subscriptions/webhook",
        data={
            "url": f"{receiver.url}/x",
            "email": "me@example.com",
            "component_ids": [ocpp["id"]],
        },
    )
    receiver.stop()
    assert done.status_code == 201, done.text
    assert "whsec_" in done.text
    bad = client.post("/subscriptions/webhook", data={"url": "gopher://x"})
    assert bad.status_code == 422
    assert "gopher://x" in bad.text  # what was typed is kept
    (sub,) = staff.get("/api/v1/subscribers").json()
    assert sub["component_ids"] == [ocpp["id"]]
    with unit_of_work(engine) as session:
        token = session.exec(select(Subscriber.unsubscribe_token)).one()
    link = f"/subscriptions/{token}/unsubscribe"
    assert client.get(link).status_code == 200
    assert staff.get("/api/v1/subscribers").json() != []  # GET only asks
    assert client.post(link).status_code == 200
    assert staff.get("/api/v1/subscribers").json() == []
    assert client.get(link).status_code == 404

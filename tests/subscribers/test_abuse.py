"""The public subscribe form under abuse: rate limits, a per-host cap, endpoint verification.

Receivers are real HTTP servers on loopback (peers/webhook_receiver.py); refusals must store
nothing (no subscriber, no audit record).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.models import AuditEvent, RateHit, Subscriber
from peers.webhook_receiver import WebhookReceiver
from tests.conftest import FakeClock, subscribe_webhook


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allow_private": True,  # the receivers listen on loopback
            "subscribe_limit_per_address": 3,
            "subscribe_limit_per_target": 2,
            "subscribe_max_per_host": 4,
        }
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def stored(engine: Engine) -> tuple[int, int]:
    """Subscribers and audit records in the database."""
    with unit_of_work(engine) as session:
        return len(session.exec(select(Subscriber)).all()), len(
            session.exec(select(AuditEvent)).all()
        )


def post(client: TestClient, url: str) -> int:
    status: int = client.post("/subscriptions/webhook", data={"url": url}).status_code
    return status


def test_one_target_gets_few_subscriptions_per_hour(
    client: TestClient, receiver: WebhookReceiver, engine: Engine, clock: FakeClock
) -> None:
    assert post(client, f"{receiver.url}/a") == 201
    assert post(client, f"{receiver.url}/b") == 201
    refused = client.post("/subscriptions/webhook", data={"url": f"{receiver.url}/c"})
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert "too many subscriptions" in refused.text
    assert f"{receiver.url}/c" in refused.text  # what was typed is kept
    assert stored(engine) == (2, 2)
    assert len(receiver.requests) == 2  # a refused attempt does not even reach the endpoint
    clock.advance(hours=1, seconds=1)
    assert post(client, f"{receiver.url}/c") == 201


def test_one_address_gets_few_subscriptions_per_hour(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    receivers = [WebhookReceiver(host=f"127.0.0.{n}") for n in range(1, 5)]  # four targets
    try:
        assert [post(client, f"{r.url}/x") for r in receivers] == [201, 201, 201, 429]
        assert stored(engine) == (3, 3)
        clock.advance(minutes=61)
        assert post(client, f"{receivers[3].url}/x") == 201
    finally:
        for r in receivers:
            r.stop()


def test_a_host_holds_at_most_the_cap(
    client: TestClient, staff: TestClient, receiver: WebhookReceiver, engine: Engine
) -> None:
    for n in range(4):  # staff may add them; they count towards the cap
        subscribe_webhook(staff, f"{receiver.url.upper()}/{n}".replace("HTTP", "http"))
    before = stored(engine)
    refused = client.post("/subscriptions/webhook", data={"url": f"{receiver.url}/more"})
    assert refused.status_code == 409
    assert "already has 4 subscriptions" in refused.text
    assert stored(engine) == before
    assert before[0] == 4


def test_a_webhook_is_stored_only_after_its_endpoint_echoes_the_challenge(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    silent = WebhookReceiver(echo=False)  # answers 204 to anything: not a willing receiver
    failing = WebhookReceiver(status=500, host="127.0.0.2")
    willing = WebhookReceiver(host="127.0.0.4")
    try:
        for server, hint in ((silent, "did not echo"), (failing, "HTTP 500")):
            answer = client.post("/subscriptions/webhook", data={"url": f"{server.url}/h"})
            assert answer.status_code == 422, answer.text
            assert hint in answer.text
        unreachable = client.post("/subscriptions/webhook", data={"url": "http://127.0.0.3:9/"})
        assert unreachable.status_code == 422
        assert "did not answer its verification" in unreachable.text
        assert stored(engine) == (0, 0)
        clock.advance(hours=1, seconds=1)  # three attempts used this address's hour
        assert client.post("/subscriptions/webhook", data={"url": willing.url}).status_code == 201
        ((_, headers, body),) = willing.requests
        assert body["type"] == "webhook.verification"
        assert headers["webhook-verification"] == body["challenge"]
        assert stored(engine) == (1, 1)
    finally:
        for server in (silent, failing, willing):
            server.stop()


def test_the_verification_goes_only_to_a_checked_public_address(
    engine: Engine, settings: Settings, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    from app.main import create_app

    strict = create_app(settings.model_copy(update={"webhook_allow_private": False}))
    with TestClient(strict) as client:
        answer = client.post("/subscriptions/webhook", data={"url": f"{receiver.url}/x"})
    assert answer.status_code == 422
    assert "non-public" in answer.text
    assert receiver.requests == []
    assert stored(engine) == (0, 0)


def test_two_replicas_on_one_database_share_the_limits(
    settings: Settings, engine: Engine, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    """Two app instances (two replicas) on one database: a client gets the limit once, not once
    per replica; the counts live in the database, and old ones are deleted."""
    from app.clock import get_clock
    from app.main import create_app

    replicas = [create_app(settings), create_app(settings)]
    for replica in replicas:
        replica.dependency_overrides[get_clock] = lambda: clock
    with TestClient(replicas[0]) as one, TestClient(replicas[1]) as two:
        assert post(one, f"{receiver.url}/a") == 201
        assert post(two, f"{receiver.url}/b") == 201
        refused = two.post("/subscriptions/webhook", data={"url": f"{receiver.url}/c"})
        assert refused.status_code == 429  # the target's 2 per hour, used on the other replica
        assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
        assert post(one, f"{receiver.url}/c") == 429
        assert stored(engine) == (2, 2)
        with unit_of_work(engine) as session:
            hits = session.exec(select(RateHit)).all()
            assert len(hits) == 4  # per address and per target, accepted attempts only
            assert all(len(h.key) == 64 and "127.0.0.1" not in h.key for h in hits)  # hashed
        clock.advance(hours=1, seconds=1)
        assert post(two, f"{receiver.url}/c") == 201
    with unit_of_work(engine) as session:
        assert len(session.exec(select(RateHit)).all()) == 2  # the hour-old ones are gone


def test_a_slow_verification_holds_up_no_other_writer(
    client: TestClient, staff: TestClient, engine: Engine
) -> None:
    """The endpoint has seconds to answer its verification; meanwhile the rest of Pharos
    writes as usual (no transaction, so no lock, is held while waiting)."""
    slow = WebhookReceiver(delay=2.0)
    try:
        with ThreadPoolExecutor(1) as pool:
            subscribing = pool.submit(post, client, f"{slow.url}/h")
            while not slow.requests:  # the verification request has arrived and waits
                time.sleep(0.01)
            started = time.monotonic()
            made = staff.post("/api/v1/components", json={"name": "OCPP"})
            took = time.monotonic() - started
            assert made.status_code == 201, made.text
            assert subscribing.result() == 201
        assert took < 1.0, f"a staff write waited {took:.1f} s for a webhook's verification"
    finally:
        slow.stop()

"""In order per subscriber: a subscriber's messages arrive in the order their events happened.

Real receivers listen on loopback with random delays and random failures; the worker, the
outbox and the database are real, only the clock is fake (so retries come due at once).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.config import Settings
from app.db import unit_of_work
from app.models import Delivery, DeliveryStatus
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, make_component, open_incident, subscribe_webhook

EVENTS = 50
SUBSCRIBERS = 20
FAILURE_RATE = 0.25
STATUSES = ["investigating", "identified", "monitoring"]


class Receivers:
    """One loopback server for many subscriber paths: random delay, random 500s (never more
    than two in a row for one path, so no subscriber fails long enough to be quarantined)."""

    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.arrived: dict[str, list[int]] = defaultdict(list)  # path -> update counts
        self.failing: dict[str, int] = defaultdict(int)  # path -> failures in a row
        self.requests = 0

    def decide(self, path: str) -> tuple[float, bool]:
        with self.lock:
            self.requests += 1
            fail = self.random.random() < FAILURE_RATE and self.failing[path] < 2
            self.failing[path] = self.failing[path] + 1 if fail else 0
            return self.random.uniform(0, 0.005), fail


@pytest.fixture
def receivers() -> Iterator[tuple[Receivers, str]]:
    state = Receivers(seed=14)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            delay, fail = state.decide(self.path)
            time.sleep(delay)
            if fail:
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            payload = json.loads(body)
            with state.lock:
                state.arrived[self.path].append(len(payload["incident"]["incident_updates"]))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    Handler.protocol_version = "HTTP/1.1"  # keep-alive: one connection per subscriber path

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # 20 connects at once must not overflow the listen backlog

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True, "webhook_concurrency": 32})


def pending(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return len(
            session.exec(select(Delivery.id).where(Delivery.status == DeliveryStatus.pending)).all()
        )


def test_fifty_events_reach_twenty_subscribers_in_event_order(
    staff: TestClient,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    receivers: tuple[Receivers, str],
) -> None:
    state, base_url = receivers
    paths = [f"/sub/{n}" for n in range(SUBSCRIBERS)]
    for path in paths:
        subscribe_webhook(staff, base_url + path)

    async def scenario() -> list[int]:
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        transport = httpx.AsyncHTTPTransport(socket_options=nodelay)
        async with httpx.AsyncClient(timeout=5.0, transport=transport) as client:
            worker = DeliveryWorker(engine, settings, client=client, clock=clock)
            sent_per_round: list[int] = []
            incident = open_incident(staff)
            for n in range(1, EVENTS):
                # Events keep coming while earlier ones are being sent and retried.
                status = "resolved" if n == EVENTS - 1 else STATUSES[n % 3]
                posted = staff.post(
                    f"/api/v1/incidents/{incident['id']}/updates",
                    json={"status": status, "body": f"Update {n}."},
                )
                assert posted.status_code == 201, posted.text
                if n % 3 == 0:
                    sent_per_round.append(await worker.run_once(client))
                    clock.advance(seconds=6)  # the first retry comes due, later ones don't
            for _ in range(200):
                if pending(engine) == 0:
                    break
                sent_per_round.append(await worker.run_once(client))
                clock.advance(hours=11)  # every retry is due by the next round
            return sent_per_round

    sent_per_round = asyncio.run(scenario())
    assert pending(engine) == 0
    # Different subscribers go out in parallel: a round sends to many of them at once ...
    assert max(sent_per_round) == SUBSCRIBERS
    # ... but never two messages to one subscriber, and always in event order.
    for path in paths:
        arrived = state.arrived[path]
        assert arrived == sorted(set(arrived)), f"{path} got {arrived}"
        assert arrived[-1] == EVENTS, f"{path} never heard the last event: {arrived}"
    with unit_of_work(engine) as session:
        statuses = list(session.exec(select(Delivery.status)))
    assert set(statuses) <= {DeliveryStatus.delivered, DeliveryStatus.superseded}
    # Failures really happened and were folded into later events, not sent out of order.
    assert statuses.count(DeliveryStatus.superseded) > 0
    assert state.requests > len(statuses) - statuses.count(DeliveryStatus.superseded)


class Flaky:
    """A MockTransport handler: the first `fail` requests get 503, then 204."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.seen: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail > 0:
            self.fail -= 1
            return httpx.Response(503)
        self.seen.append(json.loads(request.content))
        return httpx.Response(204)


def test_a_later_message_waits_while_an_earlier_one_is_retried(
    staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/a")
    ocpp = make_component(staff, name="OCPP")
    flaky = Flaky(fail=1)
    client = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
    worker = DeliveryWorker(engine, settings, client=client, clock=clock)

    def deliver() -> int:
        return asyncio.run(worker.run_once(client))

    open_incident(staff, components={ocpp["id"]: "major_outage"})
    # Two events, two subjects (the incident, the component): the second may not overtake.
    assert deliver() == 1  # only the head of the queue, and it fails
    assert deliver() == 0  # the component change waits behind the retry
    assert flaky.seen == []
    clock.advance(seconds=6)
    assert deliver() == 1
    assert deliver() == 1
    # The update's component change is recorded first, then the incident it belongs to.
    assert [b["type"] for b in flaky.seen] == ["component.status_changed", "incident.created"]
    asyncio.run(client.aclose())


def test_a_later_update_of_the_same_incident_supersedes_a_failed_one(
    staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/a")
    flaky = Flaky(fail=1)
    client = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
    worker = DeliveryWorker(engine, settings, client=client, clock=clock)
    incident = open_incident(staff)
    assert asyncio.run(worker.run_once(client)) == 1  # incident.created fails
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "Two stalled processors."},
    )
    # The update carries the whole incident, the created one's words included: it goes now.
    assert asyncio.run(worker.run_once(client)) == 1
    ((body),) = flaky.seen
    assert body["type"] == "incident.updated"
    assert [u["status"] for u in body["incident"]["incident_updates"]] == [
        "identified",
        "investigating",
    ]
    with unit_of_work(engine) as session:
        statuses = session.exec(select(Delivery.status).order_by(col(Delivery.event_id))).all()
    assert statuses == [DeliveryStatus.superseded, DeliveryStatus.delivered]
    asyncio.run(client.aclose())

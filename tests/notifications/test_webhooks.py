"""Webhook delivery: Statuspage payloads, Standard Webhooks signatures, retries, quarantine.

The network is faked with httpx.MockTransport; the database and the worker are real.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from standardwebhooks import Webhook

from app.config import Settings
from app.db import unit_of_work
from app.models import Delivery, DeliveryStatus, OutboxEvent
from app.notifications import outbox
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, make_component, open_incident, subscribe_webhook

Handler = Callable[[httpx.Request], httpx.Response]
# Keys of Statuspage's incident webhook (zulip's fixtures, ../shared/reference).
KEY = b"a test key for subscriber links, 32+ bytes"
STATUSPAGE_INCIDENT_KEYS = {
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "postmortem_ignored",
    "postmortem_body",
    "postmortem_body_last_updated_at",
    "postmortem_published_at",
    "postmortem_notified_subscribers",
    "postmortem_notified_twitter",
    "backfilled",
    "scheduled_for",
    "scheduled_until",
    "scheduled_remind_prior",
    "scheduled_reminded_at",
    "impact_override",
    "scheduled_auto_in_progress",
    "scheduled_auto_completed",
    "id",
    "page_id",
    "incident_updates",
    "components",
}
STATUSPAGE_UPDATE_KEYS = {
    "status",
    "body",
    "created_at",
    "wants_twitter_update",
    "twitter_updated_at",
    "updated_at",
    "display_at",
    "affected_components",
    "custom_tweet",
    "deliver_notifications",
    "id",
    "incident_id",
}


class Receiver:
    """Records requests; answers with whatever `reply` says for each URL."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(204)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    def bodies(self) -> list[dict[str, Any]]:
        """Decoded JSON bodies received, in order."""
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Receivers in these tests are fake, so private/unresolvable names are fine."""
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def deliver(
    engine: Engine, settings: Settings, clock: FakeClock, receiver: Receiver
) -> Iterator[Callable[[], int]]:
    """Run one worker round against the fake network; returns deliveries attempted.

    A round sends at most one message per subscriber (the head of its queue)."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    worker = DeliveryWorker(engine, settings, client=client, clock=clock)

    def run() -> int:
        return asyncio.run(worker.run_once(client))

    yield run
    asyncio.run(client.aclose())


@pytest.fixture
def drain(deliver: Callable[[], int]) -> Callable[[], int]:
    """Run rounds until nothing is due; returns deliveries attempted in all."""

    def run() -> int:
        total = 0
        while sent := deliver():
            total += sent
        return total

    return run


def test_incident_webhook_is_signed_and_statuspage_shaped(
    staff: TestClient, receiver: Receiver, deliver: Callable[[], int]
) -> None:
    sub = subscribe_webhook(staff, "https://hooks.example.com/status")
    assert sub["secret"].startswith("whsec_")
    ocpp = make_component(staff, name="OCPP")
    incident = open_incident(staff, components={ocpp["id"]: "partial_outage"})
    assert deliver() == 1  # one at a time per subscriber, in event order
    assert deliver() == 1
    by_type = {}
    for request in receiver.requests:
        # The receiver's side of Standard Webhooks: raises unless the signature is right.
        payload = Webhook(sub["secret"]).verify(request.content, dict(request.headers))
        assert request.headers["webhook-id"].startswith("msg_")
        by_type[payload["type"]] = payload
    assert set(by_type) == {"incident.created", "component.status_changed"}
    created = by_type["incident.created"]
    assert set(created) == {"type", "meta", "page", "incident"}
    assert created["meta"]["unsubscribe"].startswith("https://status.example.com/subscriptions/")
    assert created["page"]["status_indicator"] == "major"
    assert created["page"]["status_description"] == "Partial System Outage"
    assert set(created["incident"]) >= STATUSPAGE_INCIDENT_KEYS
    assert created["incident"]["id"] == incident["id"]
    (update,) = created["incident"]["incident_updates"]
    assert set(update) >= STATUSPAGE_UPDATE_KEYS
    change = by_type["component.status_changed"]
    assert change["component"]["id"] == ocpp["id"]
    assert change["component_update"]["old_status"] == "operational"
    assert change["component_update"]["new_status"] == "partial_outage"
    assert change["component_update"]["component_type"] == "Component"
    assert deliver() == 0  # nothing left


def test_tampered_body_fails_verification(
    staff: TestClient, receiver: Receiver, deliver: Callable[[], int]
) -> None:
    sub = subscribe_webhook(staff, "https://hooks.example.com/status")
    open_incident(staff)
    deliver()
    (request,) = receiver.requests
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(sub["secret"]).verify(
            request.content.replace(b"investigating", b"resolved"), dict(request.headers)
        )


def test_event_types_and_what_sends_nothing(
    staff: TestClient, receiver: Receiver, drain: Callable[[], int]
) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/status")
    incident = open_incident(staff)
    base = f"/api/v1/incidents/{incident['id']}"
    staff.post(
        f"{base}/updates",
        json={"status": "identified", "body": "Quiet fix.", "deliver_notifications": False},
    )
    staff.post(f"{base}/updates", json={"status": "monitoring", "body": "Watching."})
    staff.post(f"{base}/updates", json={"status": "resolved", "body": "Done."})
    staff.put(f"{base}/postmortem", json={"body": "What happened."})
    staff.post(f"{base}/postmortem/publish")
    open_incident(staff, name="Last year", status="resolved", backfilled=True)
    drain()
    bodies = receiver.bodies()  # in event order, as they arrive
    assert [b["type"] for b in bodies] == [
        "incident.created",
        "incident.updated",
        "incident.resolved",
        "incident.postmortem_published",
    ]
    published = bodies[-1]["incident"]
    assert published["postmortem_body"] == "What happened."
    assert published["status"] == "postmortem"


def test_a_backfilled_incident_sends_nothing_now_or_later(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/status")
    ocpp = make_component(staff, name="OCPP")
    written = clock.now - timedelta(days=30)
    incident = open_incident(
        staff,
        name="Last month",
        backfilled=True,
        display_at=written.isoformat(),
        components={ocpp["id"]: "major_outage"},
    )
    base = f"/api/v1/incidents/{incident['id']}"
    for status in ("identified", "monitoring", "resolved"):
        body = {"status": status, "body": status, "components": {ocpp["id"]: "partial_outage"}}
        assert staff.post(f"{base}/updates", json=body).status_code == 201
    staff.put(f"{base}/postmortem", json={"body": "What happened."})
    assert staff.post(f"{base}/postmortem/publish").status_code == 200
    with unit_of_work(engine) as session:
        assert session.exec(select(OutboxEvent)).all() == []


def test_component_filters_apply(
    staff: TestClient, receiver: Receiver, drain: Callable[[], int]
) -> None:
    group = make_component(staff, name="Cloud", group=True)
    ocpp = make_component(staff, name="OCPP", group_id=group["id"])
    portal = make_component(staff, name="Portal")
    subscribe_webhook(staff, "https://a.example.com/", component_ids=[portal["id"]])
    subscribe_webhook(staff, "https://b.example.com/", component_ids=[group["id"]])
    subscribe_webhook(staff, "https://c.example.com/")
    open_incident(staff, components={ocpp["id"]: "major_outage"})
    open_incident(staff, name="No components")
    drain()
    got: dict[str, list[str]] = {}
    for request in receiver.requests:
        got.setdefault(request.url.host, []).append(json.loads(request.content)["type"])
    assert "a.example.com" not in got
    assert sorted(got["b.example.com"]) == ["component.status_changed", "incident.created"]
    assert sorted(got["c.example.com"]) == [
        "component.status_changed",
        "incident.created",
        "incident.created",
    ]


def test_retries_follow_the_schedule_with_a_stable_id_then_give_up(
    staff: TestClient,
    receiver: Receiver,
    deliver: Callable[[], int],
    clock: FakeClock,
    engine: Engine,
) -> None:
    sub = subscribe_webhook(staff, "https://down.example.com/")
    receiver.reply = lambda r: httpx.Response(503)
    open_incident(staff)
    assert deliver() == 1
    assert deliver() == 0  # the 5 s back-off has not passed
    for delay in outbox.RETRY_SCHEDULE[1:]:
        clock.advance(seconds=delay.total_seconds() * (1 - outbox.JITTER) - 1)
        assert deliver() == 0, delay
        clock.advance(seconds=delay.total_seconds() * 2 * outbox.JITTER + 2)
        assert deliver() == 1, delay
    clock.advance(days=2)
    assert deliver() == 0
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    log = staff.get(f"/api/v1/subscribers/{sub['id']}/deliveries").json()
    (delivery,) = log
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503] * len(outbox.RETRY_SCHEDULE)
    # Staff can send it again; it keeps its webhook-id.
    receiver.reply = lambda r: httpx.Response(200)
    again = staff.post(f"/api/v1/deliveries/{delivery['id']}/redeliver").json()
    assert again["status"] == "pending"
    assert deliver() == 1
    assert receiver.requests[-1].headers["webhook-id"] == delivery["webhook_id"]
    with unit_of_work(engine) as session:
        assert session.get(Delivery, delivery["id"]).status == DeliveryStatus.delivered  # type: ignore[union-attr]


def test_quarantine_after_an_hour_of_failures_and_reactivation_releases_held(
    staff: TestClient,
    receiver: Receiver,
    deliver: Callable[[], int],
    drain: Callable[[], int],
    clock: FakeClock,
) -> None:
    sub = subscribe_webhook(staff, "https://flaky.example.com/")
    receiver.reply = lambda r: httpx.Response(500)
    for n in range(6):
        open_incident(staff, name=f"Incident {n}")
    for _ in range(outbox.QUARANTINE_FAILURES):
        # The first incident through its whole schedule (the others wait behind it), given
        # up after eight attempts; then the second one fails twice more.
        assert deliver() == 1
        clock.advance(hours=11)
    state = staff.get(f"/api/v1/subscribers/{sub['id']}").json()
    assert state["status"] == "quarantined"
    assert staff.get("/api/v1/subscribers").json()[0]["id"] == sub["id"]
    sent = len(receiver.requests)
    open_incident(staff, name="While quarantined")
    clock.advance(days=1)
    assert deliver() == 0
    assert len(receiver.requests) == sent
    receiver.reply = lambda r: httpx.Response(200)
    assert staff.post(f"/api/v1/subscribers/{sub['id']}/reactivate").json()["status"] == "active"
    assert drain() == 6  # everything held, including the event during quarantine
    assert "While quarantined" in {b["incident"]["name"] for b in receiver.bodies()}


def test_gone_disables_and_redirect_is_a_failure(
    staff: TestClient, receiver: Receiver, deliver: Callable[[], int], engine: Engine
) -> None:
    gone = subscribe_webhook(staff, "https://gone.example.com/")
    moved = subscribe_webhook(staff, "https://moved.example.com/")
    receiver.reply = lambda r: (
        httpx.Response(410)
        if r.url.host == "gone.example.com"
        else httpx.Response(301, headers={"location": "https://elsewhere.example.com/"})
    )
    open_incident(staff)
    open_incident(staff, name="Second")
    assert deliver() == 2
    assert deliver() == 0  # the redirected one waits for its retry; nothing overtakes it
    assert staff.get(f"/api/v1/subscribers/{gone['id']}").json()["status"] == "disabled"
    assert {r.url.host for r in receiver.requests} == {"gone.example.com", "moved.example.com"}
    with unit_of_work(engine) as session:
        rows = list(session.exec(select(Delivery)))
    by_sub = {d.subscriber_id: d.status for d in rows if d.status != DeliveryStatus.pending}
    assert by_sub[gone["id"]] == DeliveryStatus.cancelled
    moved_rows = sorted(
        (d for d in rows if d.subscriber_id == moved["id"]), key=lambda d: d.event_id
    )
    assert [(d.status, d.last_status_code) for d in moved_rows] == [
        (DeliveryStatus.pending, 301),
        (DeliveryStatus.pending, None),
    ]


def test_a_failing_receiver_does_not_hold_up_others(
    staff: TestClient, receiver: Receiver, deliver: Callable[[], int]
) -> None:
    subscribe_webhook(staff, "https://broken.example.com/")
    subscribe_webhook(staff, "https://fine.example.com/")

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.host == "broken.example.com":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, content=b"garbage \x00\xff")

    receiver.reply = reply
    open_incident(staff)
    assert deliver() == 2
    log = staff.get("/api/v1/subscribers").json()
    fine = next(s for s in log if s["url"] == "https://fine.example.com/")
    broken = next(s for s in log if s["url"] == "https://broken.example.com/")
    assert fine["last_success_at"] is not None
    assert broken["consecutive_failures"] == 1


def test_a_rolled_back_change_queues_nothing(staff: TestClient, engine: Engine) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/")
    refused = staff.post(
        "/api/v1/incidents", json={"name": "X", "body": "y", "components": {"nope": "major_outage"}}
    )
    assert refused.status_code == 422
    with unit_of_work(engine) as session:
        assert session.exec(select(OutboxEvent)).first() is None
        assert session.exec(select(Delivery)).first() is None


def test_metrics_show_the_backlog(staff: TestClient, client: TestClient, clock: FakeClock) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/")
    open_incident(staff)
    text = client.get("/metrics").text
    assert "pharos_webhook_pending 1.0" in text
    assert "pharos_webhook_oldest_pending_seconds" in text


def test_claims_are_exclusive_while_leased(
    engine: Engine, staff: TestClient, clock: FakeClock, settings: Settings
) -> None:
    subscribe_webhook(staff, "https://hooks.example.com/")
    open_incident(staff)
    lease = timedelta(seconds=60)
    with unit_of_work(engine) as session:
        first = outbox.claim_due(
            session,
            now=clock(),
            limit=10,
            lease=lease,
            public_url=settings.public_url,
            link_key=KEY,
        )
    with unit_of_work(engine) as session:
        second = outbox.claim_due(
            session,
            now=clock(),
            limit=10,
            lease=lease,
            public_url=settings.public_url,
            link_key=KEY,
        )
    assert len(first) == 1 and second == []
    clock.advance(seconds=61)  # a crashed worker's lease runs out; someone else sends it
    with unit_of_work(engine) as session:
        third = outbox.claim_due(
            session,
            now=clock(),
            limit=10,
            lease=lease,
            public_url=settings.public_url,
            link_key=KEY,
        )
        pending = session.exec(select(col(Delivery.id))).all()
    assert [j.delivery_id for j in third] == [j.delivery_id for j in first] == list(pending)


def test_two_workers_claiming_at_once_never_share_a_delivery(
    engine: Engine, staff: TestClient, clock: FakeClock, settings: Settings
) -> None:
    for n in range(40):
        subscribe_webhook(staff, f"https://hooks{n}.example.com/")
    open_incident(staff)
    barrier = threading.Barrier(2)
    claimed: list[list[str]] = []

    def claim() -> None:
        with unit_of_work(engine) as session:
            barrier.wait()
            jobs = outbox.claim_due(
                session,
                now=clock.now,
                limit=25,
                lease=timedelta(seconds=60),
                public_url=settings.public_url,
                link_key=KEY,
            )
        claimed.append([j.delivery_id for j in jobs])

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    first, second = claimed
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40


def test_a_slow_receiver_never_holds_up_deliveries_to_others(
    engine: Engine, staff: TestClient, settings: Settings
) -> None:
    subscribe_webhook(staff, "https://slow.example.com/")
    subscribe_webhook(staff, "https://fast.example.com/")
    fast_names: list[str] = []

    async def scenario() -> tuple[list[str], bool]:
        release = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.host == "slow.example.com":
                await release.wait()  # hangs until the test ends (as a stuck receiver would)
            else:
                fast_names.append(json.loads(request.content)["incident"]["name"])
            return httpx.Response(204)

        fast = settings.model_copy(update={"worker_poll_seconds": 0.05})
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            worker = DeliveryWorker(engine, fast, client=client)
            task = asyncio.create_task(worker.run(lambda: None))
            await asyncio.to_thread(open_incident, staff, name="First")
            for _ in range(100):
                if fast_names:
                    break
                await asyncio.sleep(0.02)
            # The slow receiver still holds the first delivery; a second event must not wait.
            await asyncio.to_thread(open_incident, staff, name="Second")
            for _ in range(100):
                if "Second" in fast_names:
                    break
                await asyncio.sleep(0.02)
            slow_still_waiting = not release.is_set()
            release.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return fast_names, slow_still_waiting

    names, slow_waiting = asyncio.run(scenario())
    assert slow_waiting
    assert names == ["First", "Second"]


def test_an_unexpected_error_for_one_delivery_does_not_sink_the_batch(
    staff: TestClient, receiver: Receiver, deliver: Callable[[], int]
) -> None:
    subscribe_webhook(staff, "https://odd.example.com/")
    fine = subscribe_webhook(staff, "https://fine.example.com/")

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.host == "odd.example.com":
            raise ValueError("not an httpx error")
        return httpx.Response(204)

    receiver.reply = reply
    open_incident(staff)
    assert deliver() == 2
    assert deliver() == 0  # both settled: nothing is sent twice
    log = staff.get(f"/api/v1/subscribers/{fine['id']}/deliveries").json()
    assert [d["status"] for d in log] == ["delivered"]


def test_a_result_for_an_expired_lease_is_ignored(
    engine: Engine, staff: TestClient, clock: FakeClock, settings: Settings
) -> None:
    from app.notifications.webhooks import Outcome

    subscribe_webhook(staff, "https://hooks.example.com/")
    open_incident(staff)
    lease = timedelta(seconds=60)
    with unit_of_work(engine) as session:
        (stale,) = outbox.claim_due(
            session,
            now=clock.now,
            limit=5,
            lease=lease,
            public_url=settings.public_url,
            link_key=KEY,
        )
    clock.advance(seconds=61)
    with unit_of_work(engine) as session:
        (fresh,) = outbox.claim_due(
            session,
            now=clock.now,
            limit=5,
            lease=lease,
            public_url=settings.public_url,
            link_key=KEY,
        )
    with unit_of_work(engine) as session:
        outbox.settle(
            session, [(stale, Outcome(status_code=500, latency_ms=1, error="late"))], now=clock.now
        )
        outbox.settle(
            session, [(fresh, Outcome(status_code=204, latency_ms=1, error=None))], now=clock.now
        )
    with unit_of_work(engine) as session:
        delivery = session.get(Delivery, fresh.delivery_id)
        assert delivery is not None
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.delivered, 1)

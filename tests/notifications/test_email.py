"""Email subscribers against a real SMTP server (aiosmtpd) on loopback.

Every message is read back with Python's email parser: the confirmation, each incident
event, threading headers, RFC 8058 one-click unsubscribe, component filters, refusals.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from app import i18n, labels
from app.clock import get_clock
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from app.notifications import links, outbox
from app.notifications.worker import DeliveryWorker
from app.web.request_log import loggable_path
from peers.net import free_port
from tests.conftest import FakeClock, make_component, open_incident

READER = "driver@example.org"


@dataclass
class Sink:
    """An SMTP server's handler: keeps what it accepts, refuses whom it is told to."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages delivered to one address, in order."""
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp() -> Iterator[Sink]:
    """A real SMTP server on loopback."""
    handler = Sink(port=free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def settings(settings: Settings, smtp: Sink) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{smtp.port}"),
            "mail_from": "status@zaptec.example",
            "smtp_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
def deliver(engine: Engine, settings: Settings, clock: FakeClock) -> Callable[[], int]:
    """Worker rounds until nothing is due (each round sends a subscriber's next message)."""

    async def rounds() -> int:
        async with httpx.AsyncClient() as client:
            worker = DeliveryWorker(engine, settings, client=client, clock=clock)
            assert worker.mailer is not None
            total = 0
            try:
                while sent := await worker.run_once(client):
                    total += sent
            finally:
                await worker.mailer.close()
            return total

    return lambda: asyncio.run(rounds())


def body_text(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def link_in(message: EmailMessage, pattern: str) -> str:
    found = re.search(pattern, body_text(message, "plain"))
    assert found, body_text(message, "plain")
    return found.group(0)


def subscribe(client: TestClient, address: str = READER, **form: Any) -> httpx.Response:
    response: httpx.Response = client.post("/subscriptions/email", data={"email": address, **form})
    return response


def confirm(client: TestClient, smtp: Sink, address: str = READER) -> str:
    """Follow the confirmation link of the last message to `address`; returns its token."""
    (message, *_) = smtp.to(address)[-1:]
    url = link_in(message, r"https://status\.example\.com/subscriptions/[\w.-]+/confirm")
    path = url.removeprefix("https://status.example.com")
    page = client.get(path)
    assert page.status_code == 200 and "Confirm" in page.text  # a GET alone confirms nothing
    done = client.post(path)
    assert done.status_code == 200, done.text
    assert "You are subscribed" in done.text
    return path.split("/")[2]


def confirmed(
    client: TestClient, smtp: Sink, deliver: Callable[[], int], *addresses: str, **form: Any
) -> list[str]:
    """Subscribe each address (READER if none) from the public form and confirm it, as its
    reader would; their link tokens."""
    addresses = addresses or (READER,)
    for address in addresses:
        subscribe(client, address, **form)
    deliver()
    return [confirm(client, smtp, address) for address in addresses]


def test_double_opt_in_then_every_incident_event_threaded(
    client: TestClient,
    staff: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    clock: FakeClock,
) -> None:
    ocpp = make_component(staff, name="OCPP")
    assert "Check your inbox" in subscribe(client).text
    open_incident(staff, name="Before confirming")  # an unconfirmed address hears nothing
    assert deliver() == 1
    (confirmation,) = smtp.to(READER)
    assert confirmation["Subject"] == "[Zaptec Status] Confirm your subscription"
    assert confirmation["From"].addresses[0].addr_spec == "status@zaptec.example"
    assert "48 hours" in body_text(confirmation, "plain")
    assert "Confirm your subscription" in body_text(confirmation, "html")
    confirm(client, smtp)

    incident = open_incident(
        staff,
        name="Delays in processing charging events",
        body="Two **message processors** stalled.",
        components={ocpp["id"]: "major_outage"},
    )
    clock.advance(minutes=20)
    base = f"/api/v1/incidents/{incident['id']}"
    staff.post(f"{base}/updates", json={"status": "monitoring", "body": "Fix deployed."})
    staff.post(
        f"{base}/updates",
        json={"status": "identified", "body": "Quiet.", "deliver_notifications": False},
    )
    staff.post(f"{base}/updates", json={"status": "resolved", "body": "All good."})
    staff.put(f"{base}/postmortem", json={"body": "## What happened\nA lock."})
    staff.post(f"{base}/postmortem/publish")
    deliver()
    created, monitoring, resolved, postmortem = smtp.to(READER)[1:]
    assert created["Subject"] == (
        "[Zaptec Status] Delays in processing charging events - Investigating"
    )
    assert monitoring["Subject"].endswith(" - Monitoring")
    assert resolved["Subject"].endswith(" - Resolved")
    assert postmortem["Subject"].endswith(" - Postmortem")
    # Multipart text + HTML, the page's words, time zone and link.
    assert created.get_content_type() == "multipart/alternative"
    text = body_text(created, "plain")
    html = body_text(created, "html")
    assert "Two **message processors** stalled." in text
    assert "<strong>message processors</strong>" in html
    assert "Posted Sep 07, 2025 - 11:00 CEST" in text  # 09:00 UTC, Europe/Oslo
    assert "OCPP (Major Outage)" in text and "OCPP (Major Outage)" in html
    assert f"https://status.example.com/incidents/{incident['id']}" in text
    assert f'href="https://status.example.com/incidents/{incident["id"]}' in html
    assert "Monitoring - Fix deployed." in body_text(resolved, "plain")  # earlier updates below
    assert "What happened" in body_text(postmortem, "html")
    # One thread: every later message refers to the first.
    root = created["Message-ID"]
    assert root.startswith("<incident.") and root.endswith("@status.example.com>")
    for later in (monitoring, resolved, postmortem):
        assert later["In-Reply-To"] == root
        assert later["References"] == root
        assert later["Message-ID"] != root
    assert len({m["Message-ID"] for m in smtp.to(READER)}) == 5
    # RFC 8058 one-click unsubscribe and the manage link.
    for message in (created, monitoring):
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            r"<https://status\.example\.com/subscriptions/[\w.-]+/unsubscribe>",
            message["List-Unsubscribe"],
        )
        assert message["Auto-Submitted"] == "auto-generated"
    manage = link_in(created, r"https://status\.example\.com/subscriptions/[\w.-]+(?=\s)")
    page = client.get(manage.removeprefix("https://status.example.com"))
    assert page.status_code == 200 and READER in page.text


def test_one_click_unsubscribe_stops_further_mail(
    client: TestClient,
    staff: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    engine: Engine,
) -> None:
    confirmed(client, smtp, deliver)
    open_incident(staff, name="First")
    deliver()
    message = smtp.to(READER)[-1]
    target = message["List-Unsubscribe"].strip("<>").removeprefix("https://status.example.com")
    # What a mail provider sends (RFC 8058 section 3.1): a POST with this body, no cookies.
    one_click = client.post(
        target,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    open_incident(staff, name="After unsubscribing")
    deliver()
    assert [m["Subject"] for m in smtp.to(READER)][-1].endswith("First - Investigating")
    with unit_of_work(engine) as session:
        assert session.exec(select(Subscriber)).all() == []


def test_component_filter_and_groups(
    client: TestClient, staff: TestClient, smtp: Sink, deliver: Callable[[], int]
) -> None:
    cloud = make_component(staff, name="Cloud", group=True)
    ocpp = make_component(staff, name="OCPP", group_id=cloud["id"])
    portal = make_component(staff, name="Portal")
    confirmed(client, smtp, deliver, "group@example.org", component_ids=[cloud["id"]])
    confirmed(client, smtp, deliver, "portal@example.org", component_ids=[portal["id"]])
    open_incident(staff, name="OCPP down", components={ocpp["id"]: "major_outage"})
    deliver()
    assert [m["Subject"] for m in smtp.to("group@example.org")][1:] == [
        "[Zaptec Status] OCPP down - Investigating"
    ]
    assert len(smtp.to("portal@example.org")) == 1  # the confirmation only


def test_subscribing_twice_sends_one_confirmation_in_a_short_window(
    client: TestClient, smtp: Sink, deliver: Callable[[], int], clock: FakeClock
) -> None:
    subscribe(client)
    subscribe(client, READER.upper())
    deliver()
    assert len(smtp.to(READER)) == 1
    clock.advance(minutes=20)
    subscribe(client)
    deliver()
    assert len(smtp.to(READER)) == 2


def test_unconfirmed_addresses_expire_after_48_hours(
    client: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    clock: FakeClock,
    engine: Engine,
) -> None:
    subscribe(client)
    deliver()
    url = link_in(smtp.to(READER)[0], r"https://status\.example\.com/subscriptions/[\w.-]+/confirm")
    clock.advance(hours=49)
    expired = client.post(url.removeprefix("https://status.example.com"))
    assert expired.status_code == 410
    assert "expired" in expired.text
    with unit_of_work(engine) as session:
        assert session.exec(select(Subscriber)).all() == []


def test_follow_one_incident_by_email(
    client: TestClient, staff: TestClient, smtp: Sink, deliver: Callable[[], int]
) -> None:
    followed = open_incident(staff, name="Followed")
    page = client.get(f"/incidents/{followed['id']}/")
    assert "Follow this incident by email" in page.text
    assert subscribe(client, incident_id=followed["id"]).status_code == 200
    deliver()
    assert "“Followed”" in body_text(smtp.to(READER)[0], "plain")
    confirm(client, smtp)
    open_incident(staff, name="Another")
    staff.post(
        f"/api/v1/incidents/{followed['id']}/updates", json={"status": "resolved", "body": "Ok."}
    )
    deliver()
    assert [m["Subject"] for m in smtp.to(READER)[1:]] == ["[Zaptec Status] Followed - Resolved"]
    assert "Follow this incident" not in client.get(f"/incidents/{followed['id']}/").text
    assert subscribe(client, "late@example.org", incident_id=followed["id"]).status_code == 409


def test_maintenance_goes_by_email_with_its_window(
    client: TestClient, staff: TestClient, smtp: Sink, deliver: Callable[[], int]
) -> None:
    confirmed(client, smtp, deliver)
    created = staff.post(
        "/api/v1/maintenances",
        json={
            "name": "Database upgrade",
            "body": "Short interruptions.",
            "scheduled_for": "2025-09-10T00:00:00Z",
            "scheduled_until": "2025-09-10T02:00:00Z",
        },
    )
    assert created.status_code == 201, created.text
    deliver()
    message = smtp.to(READER)[-1]
    assert message["Subject"] == "[Zaptec Status] Database upgrade - Scheduled"
    assert "Scheduled for Sep 10, 2025 02:00 - 04:00 CEST" in body_text(message, "plain")


def test_a_permanent_refusal_makes_the_address_undeliverable_a_temporary_one_is_retried(
    client: TestClient,
    staff: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    clock: FakeClock,
    engine: Engine,
) -> None:
    confirmed(client, smtp, deliver, "gone@example.org", "full@example.org")
    smtp.refuse["gone@example.org"] = "550 5.1.1 No such user"
    smtp.refuse["full@example.org"] = "452 4.2.2 Mailbox full"
    open_incident(staff)
    for _ in range(outbox.PERMANENT_TRIES + 1):
        deliver()
        clock.advance(hours=11)
    with unit_of_work(engine) as session:
        by_address = {s.email: s for s in session.exec(select(Subscriber))}
        gone, full = by_address["gone@example.org"], by_address["full@example.org"]
        assert gone.status == SubscriberStatus.undeliverable
        assert gone.disabled_reason is not None and "550" in gone.disabled_reason
        assert full.status == SubscriberStatus.active
        (pending,) = session.exec(
            select(Delivery)
            .where(Delivery.subscriber_id == full.id)
            .where(Delivery.status == DeliveryStatus.pending)
        ).all()
        assert pending.last_status_code == 452
    smtp.refuse.clear()
    deliver()
    assert smtp.to("full@example.org")[-1]["Subject"].endswith(" - Investigating")
    assert len(smtp.to("gone@example.org")) == 1  # its confirmation, nothing since


def test_history_and_quiet_updates_send_no_email(
    client: TestClient, staff: TestClient, smtp: Sink, deliver: Callable[[], int]
) -> None:
    confirmed(client, smtp, deliver)
    open_incident(staff, name="Last year", status="resolved", backfilled=True)
    incident = open_incident(staff, name="Now")
    deliver()
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "identified", "body": "Typo fix.", "deliver_notifications": False},
    )
    deliver()
    assert [m["Subject"] for m in smtp.to(READER)[1:]] == ["[Zaptec Status] Now - Investigating"]


def test_staff_add_remove_list_and_csv(
    staff: TestClient, smtp: Sink, deliver: Callable[[], int], client: TestClient
) -> None:
    ocpp = make_component(staff, name="OCPP")
    added = staff.post(
        "/api/v1/subscribers/email", json={"email": "fleet@example.org", "component_ids": None}
    )
    assert added.status_code == 201, added.text
    assert added.json()["status"] == "active"
    again = staff.post("/api/v1/subscribers/email", json={"email": "fleet@example.org"})
    assert again.status_code == 409
    subscribe(client, "pending@example.org")
    csv_in = f"email,component_ids\nops@example.org,{ocpp['id']}\nfleet@example.org,\n"
    imported = staff.post(
        "/api/v1/subscribers/email/import", content=csv_in, headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"added": 1, "already": 1}
    bad = staff.post(
        "/api/v1/subscribers/email/import",
        content="email\nnot-an-address\n",
        headers={"content-type": "text/csv"},
    )
    assert bad.status_code == 422 and "line 2" in bad.json()["detail"]
    listed = staff.get("/api/v1/subscribers/email").json()
    assert {(s["email"], s["status"]) for s in listed} == {
        ("fleet@example.org", "active"),
        ("ops@example.org", "active"),
        ("pending@example.org", "pending"),
    }
    exported = staff.get("/api/v1/subscribers/email.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0] == "email,status,component_ids,incident_id,created_at,confirmed_at"
    assert any(line.startswith(f"ops@example.org,active,{ocpp['id']},") for line in lines)
    fleet = next(s for s in listed if s["email"] == "fleet@example.org")
    assert staff.delete(f"/api/v1/subscribers/{fleet['id']}").status_code == 204
    open_incident(staff, name="Imported hear it")
    deliver()
    assert smtp.to("ops@example.org") == []  # filtered to OCPP; this incident names none
    assert smtp.to("fleet@example.org") == []  # removed


def test_without_smtp_settings_email_is_off_and_not_mentioned(
    settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    from app.clock import get_clock
    from app.main import create_app

    off = settings.model_copy(update={"smtp_url": None, "mail_from": None})
    app = create_app(off)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        page = client.get("/subscribe")
        assert page.status_code == 200
        assert 'id="email"' not in page.text and "/subscriptions/email" not in page.text
        assert client.post("/subscriptions/email", data={"email": READER}).status_code == 404


def test_subscribe_page_offers_email_first_then_chat_webhooks_feeds(client: TestClient) -> None:
    text = client.get("/subscribe").text
    order = [text.index(f'id="{anchor}"') for anchor in ("email", "chat", "webhook", "feeds")]
    assert order == sorted(order)
    assert "<script" not in text.split("<main", 1)[1]  # plain forms, no JavaScript needed


def test_links_are_signed_and_a_forged_or_rotated_one_is_refused(
    client: TestClient,
    staff: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
) -> None:
    (token,) = confirmed(client, smtp, deliver)
    open_incident(staff, name="Signed")
    deliver()
    target = smtp.to(READER)[-1]["List-Unsubscribe"].strip("<>")
    link = target.removeprefix("https://status.example.com/subscriptions/").split("/")[0]
    with unit_of_work(engine) as session:
        reader = session.exec(select(Subscriber)).one()
        key = links.key(session, settings)
    # <subscriber id>.<HMAC of id and stored token>, under the installation's own key.
    assert link == token == links.sign(key, reader.id, reader.unsubscribe_token)
    assert link.split(".")[0] == reader.id and reader.unsubscribe_token not in link
    forged = f"{reader.id}.{'A' * links.SIGNATURE_CHARS}"
    assert client.get(f"/subscriptions/{forged}").status_code == 404
    assert client.post(f"/subscriptions/{forged}/unsubscribe").status_code == 404
    assert client.get(f"/subscriptions/{link}").status_code == 200

    # A new PHAROS_SECRET_KEY: links made with the old key are dead, new mail carries new ones.
    rotated = settings.model_copy(update={"secret_key": SecretStr("r" * 40)})
    app = create_app(rotated)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as after:
        assert after.get(f"/subscriptions/{link}").status_code == 404
        assert after.post(f"/subscriptions/{link}/unsubscribe").status_code == 404
        with unit_of_work(engine) as session:
            new_key = links.key(session, rotated)
        assert new_key != key
        new_link = links.sign(new_key, reader.id, reader.unsubscribe_token)
        assert after.get(f"/subscriptions/{new_link}").status_code == 200
    with unit_of_work(engine) as session:
        assert session.exec(select(Subscriber)).one().status == SubscriberStatus.active
    assert loggable_path(f"/subscriptions/{link}/unsubscribe") == "/subscriptions/*/unsubscribe"


def test_links_sent_before_signing_keep_working(
    client: TestClient,
    staff: TestClient,
    smtp: Sink,
    deliver: Callable[[], int],
    engine: Engine,
) -> None:
    """Mail already in inboxes carries the bare stored token: it still manages and
    unsubscribes (one click), so nobody is stuck with mail they can't stop."""
    confirmed(client, smtp, deliver)
    with unit_of_work(engine) as session:
        stored = session.exec(select(Subscriber.unsubscribe_token)).one()
    page = client.get(f"/subscriptions/{stored}")
    assert page.status_code == 200 and READER in page.text
    # The page's own forms post to the signed link.
    actions = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    assert actions and not any(stored in action for action in actions), actions
    one_click = client.post(
        f"/subscriptions/{stored}/unsubscribe",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    with unit_of_work(engine) as session:
        assert session.exec(select(Subscriber)).all() == []
    assert client.get(f"/subscriptions/{stored}").status_code == 404


def test_messages_are_in_the_language_subscribed_from(
    client: TestClient, staff: TestClient, smtp: Sink, deliver: Callable[[], int]
) -> None:
    german = "fahrer@example.de"
    assert client.post("/de/subscriptions/email", data={"email": german}).status_code == 200
    subscribe(client)
    deliver()
    (confirmation,) = smtp.to(german)
    assert confirmation["Subject"] == "[Zaptec Status] Bestätigen Sie Ihr Abonnement"
    assert "Bitte bestätigen Sie" in body_text(confirmation, "plain")
    assert "alle Komponenten" in body_text(confirmation, "html")
    confirm(client, smtp, german)
    confirm(client, smtp)
    cloud = make_component(staff, name="Cloud")
    open_incident(staff, name="Ladefehler", components={cloud["id"]: "major_outage"})
    deliver()
    (incident,) = smtp.to(german)[1:]
    with i18n.using("de"):
        status = labels.incident_status("investigating")
        outage = labels.component_status("major_outage")
    assert status != "Investigating"
    assert incident["Subject"] == f"[Zaptec Status] Ladefehler - {status}"
    text = body_text(incident, "plain")
    for words in ("Betroffene Komponenten:", f"- Cloud ({outage})", "Vorfall ansehen: https://"):
        assert words in text
    assert "Sie haben Statusmeldungen von Zaptec abonniert." in text
    assert "Veröffentlicht " in text and "Posted" not in text
    assert '<html lang="de">' in body_text(incident, "html")
    # The same event, rendered once per language: the reader who subscribed in English reads
    # it in English.
    english = body_text(smtp.to(READER)[-1], "plain")
    assert "Affected components:" in english and "View the incident: https://" in english

"""Chat apps' incoming webhooks against loopback receivers: a test message on subscribe, then
each app's own rich format, within its documented limits (Slack's checked by slack_sdk's own
Block Kit models)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from slack_sdk.models.blocks import Block
from sqlalchemy.engine import Engine
from sqlmodel import select

from app import i18n, labels
from app.config import Settings
from app.db import unit_of_work
from app.models import Subscriber, SubscriberChannel
from app.notifications import chat, messages
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, make_component, open_incident

# What each app answers a good post with (Slack "ok", Teams Workflows 202, Discord 204, ...).
ANSWERS = {"slack": 200, "teams": 202, "discord": 204, "google_chat": 200, "mattermost": 200}


class Receivers:
    """Records JSON bodies per path; a path starting /refuse/ answers 404."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)


@pytest.fixture
def receivers() -> Iterator[tuple[Receivers, str]]:
    state = Receivers()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if self.path.startswith("/slow/"):  # an app that takes its time to answer
                time.sleep(2.0)
            if self.path.startswith("/refuse/"):
                self.send_response(404)
                self.end_headers()
                return
            with state.lock:
                state.bodies[self.path].append(body)
            app = self.path.strip("/").split("/")[0]
            self.send_response(ANSWERS.get(app, 200))
            self.end_headers()
            if ANSWERS.get(app) == 200:
                self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    class Server(ThreadingHTTPServer):
        request_queue_size = 64

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest.fixture
def deliver(engine: Engine, settings: Settings, clock: FakeClock) -> Callable[[], int]:
    async def rounds() -> int:
        async with httpx.AsyncClient() as client:
            worker = DeliveryWorker(engine, settings, client=client, clock=clock)
            total = 0
            while sent := await worker.run_once(client):
                total += sent
            return total

    return lambda: asyncio.run(rounds())


def subscribe_all(staff: TestClient, base: str, **fields: Any) -> None:
    for app in ANSWERS:
        created = staff.post(
            "/api/v1/subscribers/chat", json={"url": f"{base}/{app}/hook", "app": app, **fields}
        )
        assert created.status_code == 201, created.text
        assert created.json()["channel"] == app
        assert created.json()["status"] == "active"


def test_a_test_message_on_subscribe_and_active_only_if_accepted(
    staff: TestClient, client: TestClient, receivers: tuple[Receivers, str], engine: Engine
) -> None:
    state, base = receivers
    subscribe_all(staff, base)
    for app in ANSWERS:
        (welcome,) = state.bodies[f"/{app}/hook"]
        assert "test message" in json.dumps(welcome)
    refused = staff.post(
        "/api/v1/subscribers/chat", json={"url": f"{base}/refuse/hook", "app": "discord"}
    )
    assert refused.status_code == 422
    assert "Discord did not accept the test message (HTTP 404)" in refused.json()["detail"]
    form = client.post("/subscriptions/chat", data={"url": f"{base}/refuse/x", "app": "slack"})
    assert form.status_code == 422 and "did not accept the test message" in form.text
    with unit_of_work(engine) as session:
        stored = {s.channel for s in session.exec(select(Subscriber))}
    assert stored == {SubscriberChannel(app) for app in ANSWERS}


def test_public_form_recognises_the_app_from_the_url(
    client: TestClient, receivers: tuple[Receivers, str], engine: Engine
) -> None:
    _, base = receivers
    made = client.post("/subscriptions/chat", data={"url": f"{base}/mattermost/hooks/abc"})
    assert made.status_code == 201, made.text
    assert "Mattermost accepted our test message" in made.text
    unknown = client.post("/subscriptions/chat", data={"url": f"{base}/slack/x"})
    assert unknown.status_code == 422 and "pick the chat app" in unknown.text


@pytest.mark.parametrize("way", ["public form", "staff API"])
def test_a_slow_chat_app_holds_up_no_other_writer(
    way: str,
    client: TestClient,
    staff: TestClient,
    receivers: tuple[Receivers, str],
    clock: FakeClock,
) -> None:
    """Subscribing waits for the test message's answer with no transaction open: a staff write
    meanwhile goes through at once. Before, on SQLite it waited for the chat app (the staff
    API's token check opened the request's write transaction); on PostgreSQL the token's use,
    written in that transaction, kept its row locked from a later request noting its own."""
    _, base = receivers
    target = {"url": f"{base}/slow/x", "app": "slack"}
    with ThreadPoolExecutor(1) as pool:
        if way == "public form":
            subscribing = pool.submit(client.post, "/subscriptions/chat", data=target)
        else:
            subscribing = pool.submit(staff.post, "/api/v1/subscribers/chat", json=target)
        time.sleep(0.5)  # the test message is on its way and waits
        clock.advance(minutes=2)  # the write below notes the token's use again
        started = time.monotonic()
        made = staff.post("/api/v1/components", json={"name": "OCPP"})
        took = time.monotonic() - started
        assert made.status_code == 201, made.text
        assert subscribing.result().status_code == 201, subscribing.result().text
    assert took < 1.0, f"a staff write waited {took:.1f} s for a chat app's test message"


def test_recognise() -> None:
    assert chat.recognise("https://hooks.slack.com/services/T0/B0/x") == SubscriberChannel.slack
    assert chat.recognise("https://discord.com/api/webhooks/1/abc") == SubscriberChannel.discord
    assert chat.recognise("https://chat.googleapis.com/v1/spaces/A/messages?key=k") == (
        SubscriberChannel.google_chat
    )
    teams = "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/x"
    assert chat.recognise(teams) == SubscriberChannel.teams
    assert chat.recognise("https://example.com/webhook") is None


def test_chat_urls_follow_the_ssrf_rules(
    staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    from app.clock import get_clock
    from app.main import create_app

    strict = settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(strict)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app, headers=dict(staff.headers)) as strict_staff:
        for url in ("http://127.0.0.1:9/slack", "http://169.254.169.254/hooks/x"):
            refused = strict_staff.post(
                "/api/v1/subscribers/chat", json={"url": url, "app": "slack"}
            )
            assert refused.status_code == 422
            assert "refused" in refused.json()["detail"]


def test_incident_messages_in_each_apps_format(
    staff: TestClient,
    receivers: tuple[Receivers, str],
    deliver: Callable[[], int],
) -> None:
    state, base = receivers
    ocpp = make_component(staff, name="OCPP")
    subscribe_all(staff, base)
    long_body = "Two message processors stalled. " + "x" * 9000
    incident = open_incident(
        staff,
        name="Delays in processing charging events",
        body=long_body,
        components={ocpp["id"]: "major_outage"},
    )
    deliver()
    link = f"https://status.example.com/incidents/{incident['id']}"

    # Slack: Block Kit in a coloured attachment; slack_sdk's models enforce Slack's limits.
    slack = state.bodies["/slack/hook"][-1]
    assert slack["text"] == "[Zaptec Status] Delays in processing charging events - Investigating"
    (attachment,) = slack["attachments"]
    assert attachment["color"] == "#c62828"  # critical impact: red
    blocks = Block.parse_all(attachment["blocks"])
    for block in blocks:
        block.validate_json()  # raises SlackObjectFormationError past a limit
    assert [b.type for b in blocks] == ["header", "section", "section", "context", "actions"]
    assert attachment["blocks"][1]["text"]["text"].startswith("*Investigating*\nTwo message")
    assert attachment["blocks"][1]["text"]["text"].endswith("…")
    assert attachment["blocks"][4]["elements"][0]["url"] == link

    # Teams (Workflows webhook): an Adaptive Card 1.4 in a message envelope.
    teams = state.bodies["/teams/hook"][-1]
    assert teams["type"] == "message"
    (card_attachment,) = teams["attachments"]
    assert card_attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = card_attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert {e["type"] for e in card["body"]} <= {"TextBlock", "FactSet"}
    assert card["body"][1] == {
        "type": "TextBlock",
        "text": "Investigating",
        "color": "attention",
        "weight": "bolder",
        "spacing": "small",
        "wrap": True,
    }
    assert {"title": "OCPP", "value": "Major Outage"} in card["body"][3]["facts"]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "View the incident", "url": link}
    ]
    assert len(json.dumps(teams)) < 28_000  # Teams refuses larger cards

    # Discord: one embed within Discord's documented limits; no pings.
    discord = state.bodies["/discord/hook"][-1]
    (embed,) = discord["embeds"]
    assert embed["color"] == 0xC62828 and embed["url"] == link
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
    assert embed["fields"] == [{"name": "OCPP", "value": "Major Outage", "inline": True}]
    assert discord["allowed_mentions"] == {"parse": []}

    # Google Chat: a card v2.
    google = state.bodies["/google_chat/hook"][-1]
    (card_v2,) = google["cardsV2"]
    assert card_v2["card"]["header"]["title"] == "Delays in processing charging events"
    widgets = card_v2["card"]["sections"][0]["widgets"]
    assert (
        widgets[0]["decoratedText"]["text"] == '<font color="#c62828"><b>Investigating</b></font>'
    )
    assert len(widgets[1]["textParagraph"]["text"]) <= chat.GOOGLE_TEXT
    assert widgets[-1]["buttonList"]["buttons"][0]["onClick"]["openLink"]["url"] == link

    # Mattermost: a Slack-style attachment.
    mattermost = state.bodies["/mattermost/hook"][-1]
    (mm,) = mattermost["attachments"]
    assert (mm["title"], mm["title_link"], mm["color"]) == (
        "Delays in processing charging events",
        link,
        "#c62828",
    )
    assert mm["fields"] == [{"short": True, "title": "OCPP", "value": "Major Outage"}]


def test_chat_hears_incidents_not_component_noise_and_follows_filters(
    staff: TestClient, receivers: tuple[Receivers, str], deliver: Callable[[], int]
) -> None:
    state, base = receivers
    ocpp = make_component(staff, name="OCPP")
    portal = make_component(staff, name="Portal")
    subscribe_all(staff, base, component_ids=[portal["id"]])
    open_incident(staff, name="OCPP only", components={ocpp["id"]: "major_outage"})
    incident = open_incident(staff, name="Portal", components={portal["id"]: "partial_outage"})
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates", json={"status": "resolved", "body": "Ok."}
    )
    deliver()
    slack = state.bodies["/slack/hook"][1:]  # after the test message
    assert [m["text"] for m in slack] == [
        "[Zaptec Status] Portal - Investigating",
        "[Zaptec Status] Portal - Resolved",
    ]
    assert slack[-1]["attachments"][0]["color"] == "#2e7d32"  # resolved: green


def test_chat_messages_speak_the_pages_language() -> None:
    """Chat has no reader's language: a message is written in the page's default language,
    every word of it (statuses, dates, buttons)."""
    payload = {
        "incident": {
            "id": "abc",
            "name": "Ladefehler",
            "status": "investigating",
            "impact": "major",
            "shortlink": "https://status.example.com/incidents/abc",
            "incident_updates": [
                {
                    "status": "investigating",
                    "body": "Wir untersuchen das.",
                    "display_at": "2025-09-07T09:12:00Z",
                    "affected_components": [{"name": "OCPP", "new_status": "major_outage"}],
                }
            ],
        }
    }
    with i18n.using("de"):
        view = messages.event_view(
            "incident.created", payload, page_name="Zaptec", tz=ZoneInfo("Europe/Oslo")
        )
        assert view is not None
        teams = chat.message(SubscriberChannel.teams, view)
        google = chat.message(SubscriberChannel.google_chat, view)
        slack = chat.message(SubscriberChannel.slack, view)
        status = labels.incident_status("investigating")
    card = teams["attachments"][0]["content"]
    assert card["actions"][0]["title"] == "Vorfall ansehen"
    assert card["body"][1]["text"] == status != "Investigating"
    assert card["body"][-1]["text"] == f"{status} · Veröffentlicht 7. Sept. 2025 - 11:12 CEST"
    widgets = google["cardsV2"][0]["card"]["sections"][0]["widgets"]
    assert widgets[-1]["buttonList"]["buttons"][0]["text"] == "Vorfall ansehen"
    assert "Vorfall ansehen" in json.dumps(slack, ensure_ascii=False)
    assert "View" not in json.dumps([teams, google, slack])

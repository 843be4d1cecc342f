"""Chat cards checked by validators their makers wrote, not by our own asserts.

Microsoft Teams: every Adaptive Card Pharos sends is parsed by Microsoft's own Adaptive Cards
library (npm `adaptivecards`, the renderer Teams' web client is built on: unknown elements,
invalid property values and failed property validation are reported), and validated against
Microsoft's Adaptive Card JSON schema (as the npm `adaptivecards-designer` ships it) with the
`jsonschema` package. Both packages come from npm at test time, pinned, into a cache folder;
the test skips, saying why, without npm or node.

Discord: the execute-webhook body is parsed by the Zod schemas npm `discord-api-spec`
generates from Discord's own OpenAPI description (types, lengths, colour range, URLs).

Google Chat: the message is validated against Google's Chat API discovery document (the
`Message` schema and everything it refers to, unknown fields refused), as Google's
`google-api-python-client` ships it (downloaded with pip at test time, not a dependency),
converted to JSON Schema here and checked with `jsonschema`.

(Slack's Block Kit is checked by slack_sdk in test_chat.py.)
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft6Validator, Draft7Validator

from tests.conftest import make_component, open_incident, schedule_maintenance
from tests.notifications import test_chat
from tests.notifications.test_chat import Receivers, subscribe_all
from tests.tools import CACHE, json_through, npm_installed, npm_packed, pip_downloaded, program

# The loopback receivers and delivery rounds of test_chat.py, as this module's fixtures.
receivers = test_chat.receivers
settings = test_chat.settings
deliver = test_chat.deliver

NPM_CACHE = CACHE / "pharos-test-npm" / "adaptivecards"
PACKAGES = {"adaptivecards": "3.0.6", "adaptivecards-designer": "2.4.4"}
SPEC = ["discord-api-spec@10.0.266135", "zod@4"]  # Discord's OpenAPI as Zod, and Zod
GOOGLE = "google-api-python-client==2.202.0"
PY_CACHE = CACHE / "pharos-test-pypi"
DISCORD_CHECK = """
import { createRequire } from "module";
const require = createRequire(import.meta.url);
const spec = await import(process.argv[1]);
const bodies = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = bodies.map((body) => {
  const parsed = spec.IncomingWebhookRequestPartialSchema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
});
process.stdout.write(JSON.stringify(out));
"""
PARSE = """
const AC = require(process.argv[1]);
const cards = JSON.parse(require("fs").readFileSync(0, "utf8"));
const problems = cards.map((json) => {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  card.parse(json, context);
  const found = [];
  for (let i = 0; i < context.eventCount; i++) found.push(context.getEventAt(i).message);
  for (const e of card.validateProperties().validationEvents) found.push(e.message);
  return found;
});
process.stdout.write(JSON.stringify(problems));
"""


@pytest.fixture(scope="session")
def card_parser() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    """Microsoft's Adaptive Cards library, parsing cards in node: the problems it reports."""
    name = "adaptivecards"
    package = npm_packed(NPM_CACHE / f"{name}-{PACKAGES[name]}", name, PACKAGES[name])
    library = package / "dist" / "adaptivecards.js"
    node = program("node", "run the Adaptive Cards library")

    def parse(cards: list[dict[str, Any]]) -> list[list[str]]:
        problems: list[list[str]] = json_through([node, "-e", PARSE, str(library)], cards)
        return problems

    return parse


@pytest.fixture(scope="session")
def card_schema() -> Draft6Validator:
    """Microsoft's Adaptive Card JSON schema (draft-06), as the designer package ships it."""
    name = "adaptivecards-designer"
    package = npm_packed(NPM_CACHE / f"{name}-{PACKAGES[name]}", name, PACKAGES[name])
    source = (package / "src" / "adaptive-card-schema.ts").read_text()
    found = re.search(r"export const adaptiveCardSchema =\s*(\{.*\})\s*;?\s*$", source, re.S)
    assert found, "the designer's schema module changed shape"
    schema = json.loads(found.group(1))
    assert schema["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


@pytest.fixture(scope="session")
def discord_check() -> Callable[[list[dict[str, Any]]], list[list[str]]]:
    """Discord's webhook body schema (from its OpenAPI spec, as Zod) run in node."""
    node = program("node", "run Discord's API schema")
    folder = NPM_CACHE.parent / "discord"
    module = folder / "node_modules" / "discord-api-spec" / "build" / "discord-api-spec.zod.js"
    npm_installed(folder, SPEC, module)

    def check(bodies: list[dict[str, Any]]) -> list[list[str]]:
        command = [node, "--input-type=module", "-e", DISCORD_CHECK, str(module)]
        problems: list[list[str]] = json_through(command, bodies)
        return problems

    return check


def _discovery_to_json_schema(discovery: dict[str, Any], root: str) -> dict[str, Any]:
    """A Google API discovery document's schemas as JSON Schema (draft 7), unknown fields
    refused, so a misspelt field fails as it would be ignored (or refused) by Chat."""

    def convert(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return {"$ref": f"#/definitions/{node['$ref']}"}
        kind = node.get("type")
        if kind == "object":
            out: dict[str, Any] = {"type": "object"}
            if "properties" in node:
                out["properties"] = {k: convert(v) for k, v in node["properties"].items()}
                out["additionalProperties"] = False
            if "additionalProperties" in node:
                out["additionalProperties"] = convert(node["additionalProperties"])
            return out
        if kind == "array":
            return {"type": "array", "items": convert(node["items"])}
        if kind in ("string", "boolean", "integer", "number"):
            out = {"type": kind}
            if "enum" in node:
                out["enum"] = node["enum"]
            return out
        return {}  # "any"

    definitions = {name: convert(schema) for name, schema in discovery["schemas"].items()}
    return {"definitions": definitions, "$ref": f"#/definitions/{root}"}


@pytest.fixture(scope="session")
def google_chat_schema() -> Draft7Validator:
    """Google Chat's Message schema from Google's discovery document for chat v1."""
    wheel_file = pip_downloaded(PY_CACHE, GOOGLE, "google_api_python_client-*.whl")
    with zipfile.ZipFile(wheel_file) as wheel:
        discovery = json.loads(wheel.read("googleapiclient/discovery_cache/documents/chat.v1.json"))
    assert discovery["name"] == "chat" and "Message" in discovery["schemas"]
    schema = _discovery_to_json_schema(discovery, "Message")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def test_the_validators_catch_a_bad_card(
    card_parser: Callable[[list[dict[str, Any]]], list[list[str]]], card_schema: Draft6Validator
) -> None:
    bad = {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": "x", "color": "Red"}, {"type": "Marquee"}],
    }
    (problems,) = card_parser([bad])
    assert any('"color"' in p for p in problems) and any("Marquee" in p for p in problems)
    assert list(card_schema.iter_errors(bad))
    assert list(card_schema.iter_errors({**bad, "body": [{"type": "FactSet"}]}))  # no facts


def test_the_discord_and_google_checks_catch_bad_messages(
    discord_check: Callable[[list[dict[str, Any]]], list[list[str]]],
    google_chat_schema: Draft7Validator,
) -> None:
    good, long_title, bad_colour = discord_check(
        [
            {"embeds": [{"title": "ok", "color": 0xC62828}]},
            {"embeds": [{"title": "x" * 257}]},
            {"embeds": [{"title": "ok", "color": 0x1000000}]},
        ]
    )
    assert good == [] and long_title and bad_colour
    card = {
        "header": {"title": "ok"},
        "sections": [{"widgets": [{"textParagraph": {"text": "a"}}]}],
    }
    assert not list(google_chat_schema.iter_errors({"cardsV2": [{"cardId": "a", "card": card}]}))
    misspelt = {"header": {"titel": "ok"}}
    assert list(google_chat_schema.iter_errors({"cardsV2": [{"cardId": "a", "card": misspelt}]}))
    assert list(google_chat_schema.iter_errors({"text": 5}))


def test_every_chat_message_passes_its_makers_validators(
    staff: TestClient,
    receivers: tuple[Receivers, str],
    deliver: Callable[[], int],
    card_parser: Callable[[list[dict[str, Any]]], list[list[str]]],
    card_schema: Draft6Validator,
    discord_check: Callable[[list[dict[str, Any]]], list[list[str]]],
    google_chat_schema: Draft7Validator,
) -> None:
    state, base = receivers
    ocpp = make_component(staff, name="OCPP")
    portal = make_component(staff, name="Portal")
    subscribe_all(staff, base)
    incident = open_incident(
        staff,
        name="Delays in processing charging events",
        body="Two message processors stalled. " + "x" * 9000,
        components={ocpp["id"]: "major_outage", portal["id"]: "degraded_performance"},
    )
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "monitoring", "body": "A fix is deployed. *Watching* it."},
    )
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "All chargers report again."},
    )
    staff.put(
        f"/api/v1/incidents/{incident['id']}/postmortem",
        json={"body": "## Root cause\n\nTwo processors stalled."},
    )
    staff.post(f"/api/v1/incidents/{incident['id']}/postmortem/publish")
    schedule_maintenance(
        staff,
        component_ids=[ocpp["id"]],
        scheduled_for="2030-10-26T02:30:00+02:00",
        scheduled_until="2030-10-26T02:30:00+01:00",
    )
    deliver()
    messages = state.bodies["/teams/hook"]
    assert len(messages) >= 6  # the test message, four incident events, the maintenance
    cards = [m["attachments"][0]["content"] for m in messages]
    for card, problems in zip(cards, card_parser(cards), strict=True):
        assert problems == [], (problems, card)
        errors = [f"{e.json_path}: {e.message}" for e in card_schema.iter_errors(card)]
        assert errors == [], (errors, card)
    discord = state.bodies["/discord/hook"]
    assert len(discord) == len(messages)
    for body, problems in zip(discord, discord_check(discord), strict=True):
        assert problems == [], (problems, body)
    google = state.bodies["/google_chat/hook"]
    assert len(google) == len(messages)
    for body in google:
        errors = [f"{e.json_path}: {e.message}" for e in google_chat_schema.iter_errors(body)]
        assert errors == [], (errors, body)

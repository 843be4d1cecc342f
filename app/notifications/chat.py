"""Chat apps' incoming webhooks: each message in the app's own rich format, within its limits.

Slack (Block Kit in a coloured attachment), Microsoft Teams (an Adaptive Card through a
Workflows webhook), Discord (an embed), Google Chat (a card v2) and Mattermost (Slack-style
attachment). Every message says the same words: title, status (coloured), latest update,
affected components and a link; long bodies are cut to the app's limit with an ellipsis.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.i18n import gettext
from app.models import SubscriberChannel
from app.notifications.messages import ComponentView, EventView
from app.notifications.webhooks import ERROR_LIMIT, USER_AGENT, Outcome

APP_NAMES = {
    SubscriberChannel.slack: "Slack",
    SubscriberChannel.teams: "Microsoft Teams",
    SubscriberChannel.discord: "Discord",
    SubscriberChannel.google_chat: "Google Chat",
    SubscriberChannel.mattermost: "Mattermost",
}
CHAT_APPS = tuple(APP_NAMES)

# Documented limits (characters).
SLACK_HEADER = 150  # header block plain_text
SLACK_SECTION = 3000  # section text
SLACK_FIELD = 2000  # each section field
SLACK_FIELDS = 10  # fields per section
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FIELDS = 25
DISCORD_FIELD_VALUE = 1024
DISCORD_TOTAL = 6000  # all text of all embeds of a message
GOOGLE_TEXT = 4000  # a message's text and a card's paragraphs: keep well under 32,000 bytes
TEAMS_BODY = 20_000  # Teams refuses cards past ~28 KB
MATTERMOST_TEXT = 16_000  # a post: 16,383 characters


def recognise(url: str) -> SubscriberChannel | None:
    """The chat app a webhook URL belongs to, when its host says so."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "hooks.slack.com":
        return SubscriberChannel.slack
    if host in ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com") and (
        parts.path.startswith("/api/webhooks/")
    ):
        return SubscriberChannel.discord
    if host == "chat.googleapis.com":
        return SubscriberChannel.google_chat
    if host.endswith((".webhook.office.com", ".logic.azure.com", ".powerplatform.com")):
        return SubscriberChannel.teams
    if "/hooks/" in parts.path:
        return SubscriberChannel.mattermost  # self-hosted: https://chat.example.com/hooks/xxx
    return None


def cut(text: str, limit: int) -> str:
    """Text shortened to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _components_line(components: list[ComponentView]) -> str:
    return ", ".join(f"{c.name} ({c.status})" for c in components)


def _body(view: EventView) -> str:
    if view.postmortem:
        return view.postmortem
    return view.latest.body if view.latest else ""


def _posted(view: EventView) -> str:
    parts = []
    if view.window:
        parts.append(gettext("Scheduled for %(window)s") % {"window": view.window})
    if view.chargers:
        parts.append(view.chargers)
    if view.latest:
        parts.append(view.latest.status)
        parts.append(gettext("Posted %(time)s") % {"time": view.latest.posted})
    return " · ".join(parts)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(view: EventView) -> dict[str, Any]:
    """Block Kit blocks in an attachment (the attachment carries the status colour)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(view.title, SLACK_HEADER), "emoji": False},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": cut(f"*{view.heading}*\n{_slack_escape(_body(view))}", SLACK_SECTION),
            },
        },
    ]
    if view.components:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {
                        "type": "mrkdwn",
                        "text": cut(f"*{_slack_escape(c.name)}*\n{c.status}", SLACK_FIELD),
                    }
                    for c in view.components[:SLACK_FIELDS]
                ],
            }
        )
    context = _posted(view) or view.page_name
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(context, SLACK_FIELD)}]}
    )
    if view.url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": gettext("View the incident")},
                        "url": view.url,
                    }
                ],
            }
        )
    return {
        "text": cut(view.subject, SLACK_HEADER),  # notifications and clients without blocks
        "attachments": [{"color": view.colour, "blocks": blocks}],
    }


def mattermost(view: EventView) -> dict[str, Any]:
    """A Slack-style message attachment, which Mattermost's incoming webhooks render."""
    fields = [{"short": True, "title": c.name, "value": c.status} for c in view.components]
    return {
        "username": f"{view.page_name} Status",
        "attachments": [
            {
                "fallback": view.subject,
                "color": view.colour,
                "pretext": view.heading,
                "title": view.title,
                "title_link": view.url,
                "text": cut(_body(view), MATTERMOST_TEXT),
                "fields": fields,
                "footer": _posted(view) or view.page_name,
            }
        ],
    }


def discord(view: EventView) -> dict[str, Any]:
    """One embed, coloured by status; mentions in bodies are never pinged."""
    title = cut(f"{view.heading}: {view.title}", DISCORD_TITLE)
    footer = cut(_posted(view) or view.page_name, 2048)
    shown = [(cut(c.name, 256), cut(c.status, DISCORD_FIELD_VALUE)) for c in view.components]
    fields = [
        {"name": name, "value": value, "inline": True} for name, value in shown[:DISCORD_FIELDS]
    ]
    used = len(title) + len(footer) + sum(len(n) + len(v) for n, v in shown[:DISCORD_FIELDS])
    description = cut(_body(view), min(DISCORD_DESCRIPTION, max(DISCORD_TOTAL - used, 1)))
    embed: dict[str, Any] = {
        "title": title,
        "description": description,
        "color": int(view.colour.removeprefix("#"), 16),
        "fields": fields,
        "footer": {"text": footer},
    }
    if view.url:
        embed["url"] = view.url
    return {
        "username": cut(f"{view.page_name} Status", 80),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def google_chat(view: EventView) -> dict[str, Any]:
    """A card v2 with a header, the status, the update and a button."""
    widgets: list[dict[str, Any]] = [
        {
            "decoratedText": {
                "topLabel": "Status",
                "text": f'<font color="{view.colour}"><b>{_html(view.heading)}</b></font>',
            }
        },
        {"textParagraph": {"text": _html(cut(_body(view), GOOGLE_TEXT))}},
    ]
    if view.components:
        widgets.append(
            {
                "decoratedText": {
                    "topLabel": gettext("Affected components"),
                    "text": _html(_components_line(view.components)),
                    "wrapText": True,
                }
            }
        )
    if view.url:
        widgets.append(
            {
                "buttonList": {
                    "buttons": [
                        {
                            "text": gettext("View the incident"),
                            "onClick": {"openLink": {"url": view.url}},
                        }
                    ]
                }
            }
        )
    return {
        "text": cut(view.subject, GOOGLE_TEXT),
        "cardsV2": [
            {
                "cardId": f"incident-{view.incident_id}",
                "card": {
                    "header": {
                        "title": cut(view.title, 200),
                        "subtitle": cut(_posted(view) or f"{view.page_name} Status", 200),
                    },
                    "sections": [{"widgets": widgets}],
                },
            }
        ],
    }


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Enum values as Microsoft's schema spells them (renderers read any case; the schema doesn't).
TEAMS_COLOUR = {"#2e7d32": "good", "#1565c0": "accent", "#c62828": "attention"}


def teams(view: EventView) -> dict[str, Any]:
    """An Adaptive Card (1.4) in the message envelope Teams Workflows webhooks take."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": cut(view.title, 400),
            "weight": "bolder",
            "size": "medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": view.heading,
            "color": TEAMS_COLOUR.get(view.colour, "warning"),
            "weight": "bolder",
            "spacing": "small",
            "wrap": True,
        },
        {"type": "TextBlock", "text": cut(_body(view), TEAMS_BODY), "wrap": True},
    ]
    if view.components:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": c.name, "value": c.status} for c in view.components],
            }
        )
    posted = _posted(view)
    if posted:
        body.append(
            {"type": "TextBlock", "text": posted, "isSubtle": True, "size": "small", "wrap": True}
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if view.url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": gettext("View the incident"), "url": view.url}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


FORMATS = {
    SubscriberChannel.slack: slack,
    SubscriberChannel.teams: teams,
    SubscriberChannel.discord: discord,
    SubscriberChannel.google_chat: google_chat,
    SubscriberChannel.mattermost: mattermost,
}


def message(channel: SubscriberChannel, view: EventView) -> dict[str, Any]:
    """The JSON body for one chat app."""
    return FORMATS[channel](view)


def encode(body: dict[str, Any]) -> bytes:
    """A message as the bytes posted (made once per event for every subscriber of an app)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def send(client: httpx.AsyncClient, *, url: str, body: dict[str, Any] | bytes) -> Outcome:
    """POST one chat message; never raises for network trouble. Any 2xx is accepted."""
    started = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            url,
            content=body if isinstance(body, bytes) else encode(body),
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
            follow_redirects=False,
        ) as response:
            status_code = response.status_code
    except httpx.HTTPError as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(None, latency, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])
    latency = int((time.perf_counter() - started) * 1000)
    error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code=status_code, latency_ms=latency, error=error)

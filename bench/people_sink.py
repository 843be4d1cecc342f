"""Receivers for bench/people_fanout.py: an SMTP sink (aiosmtpd) and a chat webhook receiver.

Run: python bench/people_sink.py SMTP_PORT HTTP_PORT
GET http://127.0.0.1:HTTP_PORT/count answers {"mail": n, "mail_recipients": r, "chat": m,
"chat_unique": u, "bad": b}: messages with the one-click unsubscribe header (every 100th parsed
with Python's email parser) and chat posts that are valid JSON with Slack's `text` and blocks.
"""

from __future__ import annotations

import json
import sys
from email import message_from_bytes, policy
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

STATS = {"mail": 0, "mail_recipients": 0, "chat": 0, "bad": 0}
CHAT_PATHS: set[str] = set()


class Sink:
    """Accepts every message; counts it once parsed."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        ok = b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in content
        if STATS["mail"] % 100 == 0:  # parsing each one would make the sink the bottleneck
            message = message_from_bytes(content, policy=policy.default)
            ok = message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and bool(
                message.get_body(("plain",))
            )
        if not ok:
            STATS["bad"] += 1
        STATS["mail"] += 1
        STATS["mail_recipients"] += len(envelope.rcpt_tos)
        return "250 OK"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Chat receiver: counts valid posts per path; GET /count reports."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status, out = 200, b"ok"
    if scope["method"] == "GET":
        out = json.dumps({**STATS, "chat_unique": len(CHAT_PATHS)}).encode()
    else:
        try:
            payload = json.loads(body)
            assert payload["text"] and payload["attachments"][0]["blocks"]
            STATS["chat"] += 1
            CHAT_PATHS.add(scope["path"])
        except (ValueError, KeyError, IndexError, AssertionError):
            STATS["bad"] += 1
            status = 400
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": out})


def main() -> None:
    """Start both receivers until killed."""
    smtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])
    controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        uvicorn.run(app, host="127.0.0.1", port=http_port, log_level="warning", backlog=4096)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

"""A fast webhook receiver for benchmarks: verifies every signature, counts unique ids.

Run: python bench/webhook_receiver.py PORT SECRET  (all subscribers share SECRET here)
GET /count answers {"unique": n, "requests": m, "bad": b}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from standardwebhooks import Webhook

SEEN: set[str] = set()
STATS = {"requests": 0, "bad": 0}


def make_app(secret: str) -> Any:
    """A bare ASGI app (no framework overhead) that verifies and records deliveries."""
    verifier = Webhook(secret)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, out = 204, b""
        if scope["method"] == "GET":
            status = 200
            out = json.dumps({"unique": len(SEEN), **STATS}).encode()
        else:
            STATS["requests"] += 1
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            try:
                verifier.verify(body, headers)
                SEEN.add(headers["webhook-id"])
            except Exception:
                STATS["bad"] += 1
                status = 400
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


if __name__ == "__main__":
    port, secret = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        make_app(secret), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )

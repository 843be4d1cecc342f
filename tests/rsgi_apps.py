"""Apps tests/test_rsgi.py serves with a real granian in a subprocess (granian factories):
plain ASGI apps served over ASGI and over app.rsgi, so that both servers' answers can be
compared, and Pharos with its requests behind the hit path counted."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from app.rsgi import AsgiOverRsgi
from app.server import with_hit_path

BIG = 3 * 1024 * 1024  # more than app.rsgi.HELD_BYTES: streamed


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


async def _answer(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), *headers],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


def plain() -> ASGIApp:
    """An ASGI app showing what a server hands it, with a lifespan of its own.

    /scope: the request's scope (client port left out) and body; /big: BIG bytes in chunks;
    /echo: the request body back, in the chunks it came in; /fail: raises; /silent: answers
    nothing; /late: fails after starting its answer; /header: a non-ASCII header value.
    """
    done = Path(os.environ["PHAROS_TEST_SHUTDOWN_FILE"])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    scope["state"]["started"] = "yes"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    done.write_text("shut down")  # noqa: ASYNC240 (a few bytes, once)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        if path == "/scope":
            body = await Request(scope, receive).body()
            shown = {
                k: v for k, v in scope.items() if k not in ("client", "raw_path", "asgi", "state")
            }
            shown["headers"] = [[k.decode(), v.decode("latin-1")] for k, v in scope["headers"]]
            shown["query_string"] = scope["query_string"].decode("latin-1")
            shown["client"] = scope["client"][0]
            shown["state"] = dict(scope["state"])
            shown["body"] = body.decode()
            await _answer(send, 200, _json(shown))
        elif path == "/big":
            chunk = b"0123456789abcdef" * 4096
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(BIG // len(chunk)):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/echo":
            await send({"type": "http.response.start", "status": 201, "headers": []})
            while True:
                message = await receive()
                more = message.get("more_body", False)
                await send(
                    {"type": "http.response.body", "body": message["body"], "more_body": more}
                )
                if not more:
                    break
        elif path == "/fail":
            raise RuntimeError("a bug")
        elif path == "/late":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise RuntimeError("a bug after the answer began")
        elif path == "/header":
            await _answer(send, 200, b"{}", (b"x-name", "Skånevik".encode()))
        elif path != "/silent":
            await _answer(send, 404, b"{}")

    return app


def plain_rsgi() -> AsgiOverRsgi:
    """`plain` served over RSGI by app.rsgi (no render cache)."""
    return AsgiOverRsgi(plain(), cache=lambda: None)


def counted() -> AsgiOverRsgi:
    """Pharos as app.server.granian_rsgi_app builds it, with the requests that reach the
    ASGI app (not answered by the RSGI hit path) counted; GET /test-calls tells them."""
    app = create_app(Settings())
    served = with_hit_path(app, app)
    calls: list[str] = []

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] == "/test-calls":
                await _answer(send, 200, _json(calls))
                return
            calls.append(scope["path"])
        await served(scope, receive, send)

    return AsgiOverRsgi(counting, cache=lambda: getattr(app.state, "render_cache", None))

"""Do-nothing apps for bench/http_load.py --floor, over ASGI and over granian's RSGI: the files
under PHAROS_FLOOR_ROOT, held in memory and answered as nginx answers them (`/de/` is
de/index.html), with Content-Encoding PHAROS_FLOOR_ENCODING if set: as little work as an app
can do. Served by granian as `pharos serve` serves Pharos (RSGI; ASGI with
`--server granian-asgi`), they show what the server itself costs per request, the floor under
any app's ratio to nginx."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Header = tuple[bytes, bytes]
TYPES = {".html": b"text/html; charset=utf-8", ".json": b"application/json"}


def _answers() -> dict[str, tuple[list[Header], bytes]]:
    """Headers and body of each file of the environment's folder, by path."""
    root = Path(os.environ["PHAROS_FLOOR_ROOT"])
    encoding = os.environ.get("PHAROS_FLOOR_ENCODING", "").encode()
    answers: dict[str, tuple[list[Header], bytes]] = {}
    for file in root.rglob("*"):
        if file.is_file():
            body = file.read_bytes()
            headers = [(b"content-type", TYPES.get(file.suffix, b"application/octet-stream"))]
            if encoding:
                headers.append((b"content-encoding", encoding))
            headers.append((b"content-length", str(len(body)).encode()))
            path = "/" + str(file.relative_to(root)).removesuffix("index.html")
            answers[path] = (headers, body)
    return answers


def asgi_app() -> ASGIApp:
    """The ASGI app for the environment's folder (a granian factory)."""
    answers = _answers()
    missing = ([(b"content-length", b"0")], b"")

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers, body = answers.get(scope["path"], missing)
        status = 200 if body else 404
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer


def rsgi_app() -> Callable[[Any, Any], Awaitable[None]]:
    """The RSGI app for the environment's folder (a granian factory)."""
    answers = {
        path: ([(k.decode(), v.decode()) for k, v in headers], body)
        for path, (headers, body) in _answers().items()
    }
    missing: tuple[list[tuple[str, str]], bytes] = ([("content-length", "0")], b"")

    async def answer(scope: Any, protocol: Any) -> None:
        headers, body = answers.get(scope.path, missing)
        protocol.response_bytes(200 if body else 404, headers, body)

    return answer

"""ASGI guards at the edge: bodies above a size limit (413), NUL bytes anywhere (422)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised while streaming a body past the limit."""


class BodySizeLimit:
    """Reject bodies larger than max_bytes, declared (Content-Length) or streamed (chunked)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"request body is larger than {self.max_bytes} bytes", "code": "too_large"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0
        started = overflowed = False

        async def limited_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    overflowed = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if overflowed:
                # The app caught the overflow and answered on its own (FastAPI turns any error
                # while reading a body into 400 "There was an error parsing the body"): a
                # streamed body gets the same 413 as a declared one instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._reject(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)


# A NUL byte, as each body encoding writes it. JSON's escape counts only when its backslash is
# not itself escaped ("\\u0000" is the text \u0000, harmless).
_NUL_IN = {
    "application/x-www-form-urlencoded": re.compile(rb"%00|\x00"),
    "application/json": re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00", re.IGNORECASE),
}
_NUL_ANYWHERE = re.compile(rb"\x00")
_NUL_IN_QUERY = re.compile(rb"%00|\x00")


class RefuseNul:
    """Answer 422 to a request carrying a NUL byte in its path, query or text body.

    No field may hold one (XML can't carry it and PostgreSQL can't store it in text), so it is
    refused once, at the edge, before any handler or database sees it. Bodies are read whole
    (BodySizeLimit, inside this guard, bounds them) and handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"detail": "the request contains a NUL character (U+0000)", "code": "invalid_input"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or _NUL_IN_QUERY.search(scope.get("query_string", b"")):
            await self._reject(send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        content_type = b""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value
        kind = content_type.split(b";")[0].strip().decode("latin-1").lower()
        pattern = _NUL_IN.get(kind, _NUL_ANYWHERE)
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if pattern.search(body):
            await self._reject(send)
            return
        first: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([first], None, receive), send)


def _replay(messages: list[Message], then: Message | None, receive: Receive) -> Receive:
    queue = [*messages, *([then] if then is not None else [])]

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed

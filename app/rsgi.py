"""The app served over granian's own protocol, RSGI, as `pharos serve` runs it by default.

Why: on the render cache's hit path most of a request's cost is the server's, not Pharos's.
Over ASGI, granian builds a scope dictionary for every request (and copies the lifespan state
into it) and the answer crosses back as two awaited messages; over RSGI a fresh hit is one
synchronous call with bytes kept ready (`Rendered.hit_answers`), and granian runs its I/O on
the worker's own thread. See Performance in the README for what that is worth.

Everything that is not such a hit goes to the ASGI app unchanged, through a small ASGI server
written on RSGI (`AsgiOverRsgi`): the request body streamed from granian, answers sent whole
(or streamed, once longer than `HELD_BYTES`), the ASGI lifespan run in granian's start-up and
shutdown hooks. A server of our own only for the little ASGI uses here: HTTP, not websockets
(`pharos serve` turns them off).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, Protocol

from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import RSGIProtocolClosed as ProtocolClosed
from granian.rsgi import Scope as RsgiScope
from starlette.types import ASGIApp, Message, Scope

from app.web import cached_answer, request_log

log = logging.getLogger("pharos.server")

READS_KEPT = 4096  # distinct reads whose address and codings are remembered
READ_BYTES_KEPT = 512  # (path, query and the two headers of a read remembered, at most)
HELD_BYTES = 1 << 20  # an answer's body is held and sent whole up to this size, then streamed
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
FAILED_BODY = b"Internal Server Error"
FAILED = (
    500,
    [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(FAILED_BODY)))],
    FAILED_BODY,
)


Read = tuple[str, str, str | None, str | None]  # path, query, Accept-Language, Accept-Encoding
How = tuple[str, tuple[bytes, ...]]  # the cached address, the codings preferred


class HitCache(Protocol):
    """What the hit path needs of the render cache (app.web.render_cache.RenderCache)."""

    localize: Callable[[str, Callable[[], bytes | None]], str]
    stats: Any

    def fresh(self, key: str) -> cached_answer.Rendered | None: ...


def address(value: str | None) -> tuple[str, int] | None:
    """("127.0.0.1", 5000) for RSGI's "127.0.0.1:5000" ("[::1]:5000" for IPv6)."""
    if not value:
        return None
    host, colon, port = value.rpartition(":")
    if not colon or not port.isdigit():
        return None
    return host.removeprefix("[").removesuffix("]"), int(port)


def asgi_scope(scope: RsgiScope, state: dict[str, Any]) -> Scope:
    """The ASGI scope of an RSGI request: granian has decoded the path (as ASGI's `path` is)
    and keeps the query string as sent; header names are lower case."""
    return {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": scope.path,
        "query_string": scope.query_string.encode(),
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in scope.headers.items()],
        "client": address(scope.client),
        "server": address(scope.server),
        "state": state.copy(),  # as ASGI servers do: a request's changes stay its own
    }


def _text(value: bytes) -> str:
    """A header value for RSGI, which sends text as UTF-8: what ASGI apps send as UTF-8
    stays the same bytes; anything else is read as Latin-1, as HTTP reads it."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


class Lifespan:
    """The ASGI app's lifespan (start-up and shutdown), run as an ASGI server runs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._events: asyncio.Queue[Message] | None = None
        self._answers: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        assert self._events is not None and self._answers is not None
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        try:
            await self.app(scope, self._events.get, self._answers.put)
        except BaseException as error:
            await self._answers.put({"type": "lifespan.crashed", "message": repr(error)})
            raise
        await self._answers.put({"type": "lifespan.returned"})  # (wakes a step still waiting)

    async def _step(self, event: str) -> None:
        assert self._events is not None and self._answers is not None
        await self._events.put({"type": f"lifespan.{event}"})
        answer = await self._answers.get()
        if answer["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(f"ASGI lifespan {event} failed: {answer.get('message', '')}")

    async def startup(self) -> None:
        self._events, self._answers = asyncio.Queue(), asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._step("startup")

    async def shutdown(self) -> None:
        await self._step("shutdown")
        if self._task is not None:
            await self._task


class AsgiOverRsgi:
    """An RSGI application (granian's `--interface rsgi`) serving an ASGI app, with the
    render cache's fresh hits answered before the ASGI app is called."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: Callable[[], HitCache | None],
        requests: request_log.RequestLog | None = None,
    ) -> None:
        self.app = app
        self.lifespan = Lifespan(app)
        self._cache = cache  # the app makes its render cache with its middleware, on first use
        self.cache: HitCache | None = None
        # (path, query, Accept-Language, Accept-Encoding) of recent reads: how each is answered
        self._reads: dict[Read, How] = {}
        self.requests = requests  # the app's request log, for the hits answered here

    # -- granian's hooks ---------------------------------------------------------------

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_until_complete(self.lifespan.startup())
        except Exception:
            log.exception("start-up failed")
            sys.exit(1)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_until_complete(self.lifespan.shutdown())
        except Exception:
            log.exception("shutdown failed")

    async def __rsgi__(self, scope: RsgiScope, protocol: HTTPProtocol) -> None:
        if scope.proto != "http":  # websockets are off: granian refuses their upgrade itself
            return
        started = time.perf_counter()
        status = self._hit(scope, protocol)
        if status is None:
            await self._asgi(scope, protocol)  # (the app logs its requests itself)
        elif self.requests is not None and request_log.log.isEnabledFor(logging.INFO):
            self.requests.write(asgi_scope(scope, {}), status, started)

    # -- the hit path ------------------------------------------------------------------

    def _hit(self, scope: RsgiScope, protocol: HTTPProtocol) -> int | None:
        """Answer a fresh render-cache hit as `serve_hit` would, with the same bytes and
        headers; its status, or None when this is not one."""
        method = scope.method
        if method != "GET" and method != "HEAD":
            return None
        cache = self.cache
        if cache is None:
            cache = self.cache = self._cache()
            if cache is None:
                return None
        headers = scope.headers
        read = (
            scope.path,
            scope.query_string,
            headers.get("accept-language"),
            headers.get("accept-encoding"),
        )
        known = self._reads.get(read)
        how = known or self._read(cache, *read)
        if not how:
            return None
        key, preferred = how
        rendered = cache.fresh(key)
        if rendered is None:
            return None
        if known is None and sum(len(part) for part in read if part) <= READ_BYTES_KEPT:
            if len(self._reads) >= READS_KEPT:
                self._reads.clear()
            self._reads[read] = how  # (only reads of cached addresses, and short ones)
        answers = rendered.hit_answers
        if not answers:  # (a header that isn't ASCII: the ASGI path counts this hit)
            cache.stats.hits -= 1
            return None
        encoding = cached_answer.best_coding(rendered, preferred)
        if_none_match = headers.get("if-none-match")
        if_modified_since = headers.get("if-modified-since")
        try:
            if (if_none_match is not None or if_modified_since is not None) and (
                cached_answer.not_modified(
                    rendered, _bytes(if_none_match), _bytes(if_modified_since)
                )
            ):
                cache.stats.not_modified += 1
                protocol.response_empty(304, answers[encoding][2])
                return 304
            body = b"" if method == "HEAD" else answers[encoding][0]
            protocol.response_bytes(rendered.status, answers[encoding][1], body)
        except ProtocolClosed:  # the reader left
            pass
        return rendered.status

    @staticmethod
    def _read(
        cache: HitCache,
        path: str,
        query: str,
        accept_language: str | None,
        accept_encoding: str | None,
    ) -> How | Literal[False]:
        """The cached address such a read is answered from and the content codings it
        prefers; False when its key may differ from the ASGI scope's (`%` left in the decoded
        path, a query that isn't ASCII: ASGI keys are made of the raw bytes), so that the
        ASGI path decides."""
        if "?" in path or "%" in path or not query.isascii():
            return False
        key = cache.localize(path, lambda: _bytes(accept_language))
        preferred = cached_answer.preferred_codings(_bytes(accept_encoding))
        return (f"{key}?{query}" if query else key), preferred

    # -- everything else: the ASGI app -----------------------------------------------------

    async def _asgi(self, scope: RsgiScope, protocol: HTTPProtocol) -> None:
        """Call the ASGI app for this request (a 500 if it fails before its answer is sent)."""
        body = _chunks(protocol)
        read_all = False

        async def receive() -> Message:
            nonlocal read_all
            if not read_all:
                chunk = await anext(body, None)
                if chunk is not None:
                    return {"type": "http.request", "body": bytes(chunk), "more_body": True}
                read_all = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await protocol.client_disconnect()
            return {"type": "http.disconnect"}

        answer = _Answer(protocol)
        try:
            await self.app(asgi_scope(scope, self.lifespan.state), receive, answer.send)
        except ProtocolClosed:
            pass  # the reader left while we answered
        except Exception:
            log.exception("%s %s failed", scope.method, request_log.loggable_path(scope.path))
            answer.fail()
        else:
            if not answer.done:
                log.error("%s %s: the app's answer was unfinished", scope.method, scope.path)
                answer.fail()


def _bytes(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1", "replace")


async def _chunks(protocol: HTTPProtocol) -> AsyncIterator[bytes]:
    async for chunk in protocol:
        yield chunk


class _Answer:
    """The ASGI app's answer, sent over RSGI: whole when it is short, else streamed."""

    def __init__(self, protocol: HTTPProtocol) -> None:
        self.protocol = protocol
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.held: list[bytes] = []
        self.held_bytes = 0
        self.stream: Any = None
        self.done = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("http.response.start sent twice")
            self.status = int(message["status"])
            self.headers = [(name.decode(), _text(value)) for name, value in message["headers"]]
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unsupported ASGI message {kind!r}")
        if self.status is None or self.done:
            raise RuntimeError("http.response.body outside of an answer")
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.stream is None:
            if not more:
                self.done = True
                whole = b"".join([*self.held, body]) if self.held else body
                self.protocol.response_bytes(self.status, self.headers, whole)
                return
            self.held.append(body)
            self.held_bytes += len(body)
            if self.held_bytes <= HELD_BYTES:
                return
            self.stream = self.protocol.response_stream(self.status, self.headers)
            body, self.held = b"".join(self.held), []
        if body:
            await self.stream.send_bytes(body)
        self.done = not more  # (the stream ends when the request's coroutine returns)

    def fail(self) -> None:
        """500 unless the answer has begun streaming (then it is cut short)."""
        if self.stream is None and not self.done:
            self.done = True
            self.protocol.response_bytes(*FAILED)

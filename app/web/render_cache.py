"""Render-on-write cache: public GET responses served as bytes from memory.

An ASGI layer in front of the routing. The first request for a public address renders it through
the app as usual; the bytes, their gzip and brotli variants and a strong ETag are kept, stamped
with the data version they were rendered at (app.data_version). Requests are then answered from
memory, 304 on revalidation, with no database query.

When the version moves (a commit in this process tells us at once; commits elsewhere are seen by
polling the one-row table every ``poll_seconds``), a refresher task re-renders the addresses
readers asked for since their last render and swaps the new bytes in. Readers keep getting the
previous bytes until then: a render never holds up a reader who has something to be served.
Entries nobody asked for are not re-rendered; the next reader renders them anew, as on a miss,
and gets the kept bytes if that render fails. An entry whose answer shows none of the topics a
change touched (``shown_by``, app.web.topics: the incident history shows no component status)
stays fresh through it, unrendered. Entries also age out after ``ttl_seconds`` so
time-dependent text (an uptime day that ends) is never older than that. A render that fails
keeps the old bytes (stale-if-error).

Renders use a canonical request built from the public URL, never the reader's headers, so nothing
a reader sends (Host, cookies, Accept-Language) can leak into bytes served to everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import data_version
from app.db import read_only
from app.web.cached_answer import Collected, Rendered, package, send_answer

log = logging.getLogger(__name__)

CACHEABLE_STATUS = (200,)
REFRESH_CONCURRENCY = 4  # renders in flight during a refresh
STOP_SECONDS = 30.0  # how long shutdown waits for renders in flight


@dataclass
class Entry:
    """A cached address and who asked for it."""

    rendered: Rendered
    hits: int = 0  # since the last render
    refreshing: bool = False
    topics: frozenset[str] | None = None  # what its answer shows (None: anything)


@dataclass
class CacheStats:
    """Counters for /metrics and the benchmark."""

    hits: int = 0
    not_modified: int = 0
    stale: int = 0
    misses: int = 0
    renders: int = 0
    render_errors: int = 0
    render_seconds: float = 0.0
    refreshes: int = 0
    last_refresh_seconds: float = 0.0


# (path, a reader of the request's Accept-Language) -> the address its answer is kept under
Localize = Callable[[str, Callable[[], bytes | None]], str]


def _path(path: str, accept_language: Callable[[], bytes | None]) -> str:
    return path


def _key(scope: Scope, localize: Localize = _path) -> str:
    """A cached address: path (with the reader's language, see app.web.language) and raw
    query string."""

    def accept_language() -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"accept-language":
                return bytes(value)
        return None

    path = localize(scope["path"], accept_language)
    query = scope.get("query_string")
    return f"{path}?{query.decode('latin-1')}" if query else path


class RenderCache:
    """The ASGI layer; ``app.state.render_cache`` holds it for the lifespan and for metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine,
        public_url: str,
        max_bytes: int = 64 * 1024 * 1024,
        ttl_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        is_cacheable: Callable[[str], bool],
        uncached: Callable[[str, bytes], bool] = lambda path, query: False,
        localize: Localize = _path,
        varies_by_language: Callable[[str], bool] = lambda path: False,
        shown_by: Callable[[str], frozenset[str] | None] = lambda path: None,
        on_create: Callable[[RenderCache], None] | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.max_bytes = max_bytes
        self.ttl = ttl_seconds
        self.poll_seconds = poll_seconds
        self.is_cacheable = is_cacheable
        self.uncached = uncached  # (path, query): a public read answered afresh, never kept
        self.localize = localize
        self.varies_by_language = varies_by_language
        self.shown_by = shown_by  # (path) the data topics its answer shows; None: all
        url = urlsplit(public_url)
        self._scheme = url.scheme
        self._host = url.netloc.encode()
        self._server = (
            url.hostname or "localhost",
            url.port or (443 if url.scheme == "https" else 80),
        )
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.bytes = 0
        self.stats = CacheStats()
        self.version = 0  # newest data version known to this process
        # per topic, the newest version known to have changed it (never behind self.version)
        self.changed = dict.fromkeys(data_version.TOPICS, 0)
        self._inflight: dict[str, asyncio.Task[Rendered | None]] = {}
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._version_read = False
        self._outer: dict[str, object] = {}
        # A weak reference: a listener must not keep a discarded app alive (tests make many).
        committed = weakref.WeakMethod(self._committed)

        def listener(version: int, topics: frozenset[str]) -> None:
            method = committed()
            if method is not None:
                method(version, topics)

        self._unsubscribe = data_version.subscribe_topics(engine, listener)
        if on_create is not None:
            on_create(self)

    # -- knowing the version -------------------------------------------------------------

    def _committed(self, version: int, topics: frozenset[str]) -> None:
        """A commit in this process changed public data (runs in the committing thread)."""
        self.observe(version, dict.fromkeys(topics, version))
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    def observe(self, version: int, changed: dict[str, int] | None = None) -> None:
        """Learn of a data version (never goes back) and of the versions its topics last
        changed at (None: not known, so every topic may have changed up to `version`)."""
        with self._lock:
            # The topics first: whoever sees the new version sees what it changed.
            if changed is None:
                changed = dict.fromkeys(data_version.TOPICS, version)
            for topic, at in changed.items():
                self.changed[topic] = max(self.changed.get(topic, 0), at)
            self.version = max(self.version, version)

    def _fresh(self, entry: Entry, now: float) -> bool:
        rendered = entry.rendered
        if now - rendered.rendered_at >= self.ttl:
            return False
        if rendered.version >= self.version:
            return True
        # Rendered before some change: still right if the change touched nothing it shows.
        topics = entry.topics
        return topics is not None and all(self.changed[t] <= rendered.version for t in topics)

    # -- serving ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self._write(scope, receive, send)
            return
        # A "?" in the decoded path (sent as %3F) can't be in a key, whose query starts there.
        if (
            "?" in scope["path"]
            or not self.is_cacheable(scope["path"])
            or self.uncached(scope["path"], scope.get("query_string", b""))
        ):
            await self.app(scope, receive, send)
            return
        if not self._outer:
            self._outer = {k: scope[k] for k in ("app", "state") if k in scope}
        if not self._version_read:  # first request of this process: learn where the data is
            try:
                versions = await asyncio.to_thread(
                    data_version.read_versions, read_only(self.engine)
                )
                self.observe(versions.version, versions.changed)
                self._version_read = True
            except Exception:  # the database is down: the render below will say so
                log.exception("reading the data version failed")
        if await self.serve_hit(scope, send):
            return
        key = _key(scope, self.localize)
        entry = self.entries.get(key)
        if entry is not None:
            entry.hits += 1
            if entry.refreshing or key in self._inflight:
                self.stats.stale += 1  # someone is rendering it: the previous bytes will do
                await self._send(scope, send, entry.rendered, b"stale")
                return
        self.stats.misses += 1
        rendered = await self._render_once(key)
        if rendered is None:  # not cacheable (an error, a 404): answer as the app does
            if entry is not None and key in self.entries:
                self.stats.stale += 1  # stale-if-error
                await self._send(scope, send, entry.rendered, b"stale")
                return
            await self.app(scope, receive, send)
            return
        await self._send(scope, send, rendered, b"miss")

    async def serve_hit(self, scope: Scope, send: Send) -> bool:
        """Answer from memory if this is a read of a fresh cached address; else False.

        The hot path: `pharos serve` calls it before the framework sees the request at all.
        """
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        rendered = self.fresh(_key(scope, self.localize))
        if rendered is None:
            return False
        await self._send(scope, send, rendered, b"hit")
        return True

    def fresh(self, key: str) -> Rendered | None:
        """The cached answer at `key` if it is fresh (counted as a hit); else None.

        The hit path of every protocol (`serve_hit` here, app.rsgi for granian's RSGI).
        """
        entry = self.entries.get(key)
        if entry is None or not self._fresh(entry, time.monotonic()):
            return None
        self.entries.move_to_end(key)
        entry.hits += 1
        self.stats.hits += 1
        return entry.rendered

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Render on write: a request that changed public data re-renders before it answers.

        So whoever posted an update sees it on their next read of this replica; other replicas
        catch up within ``poll_seconds``.
        """
        before = self.version

        async def send_when_rendered(message: Message) -> None:
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and self.version > before
            ):
                try:
                    await self.refresh()
                except Exception:  # the write succeeded; the refresher will try again
                    log.exception("render on write failed")
            await send(message)

        await self.app(scope, receive, send_when_rendered)

    async def _send(self, scope: Scope, send: Send, rendered: Rendered, how: bytes) -> None:
        if await send_answer(scope, send, rendered, how):
            self.stats.not_modified += 1

    # -- rendering -------------------------------------------------------------------------

    async def _render_once(self, key: str) -> Rendered | None:
        """Render ``key``, sharing one render among readers who ask at the same time."""
        task = self._inflight.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.get_running_loop().create_task(self._render(key))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(task)

    def _forget(self, key: str, task: asyncio.Task[Rendered | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]

    async def _render(self, key: str) -> Rendered | None:
        """Render through the app with a canonical request; store and return what is cacheable."""
        version = self.version  # read before rendering: a change during the render stays stale
        path, _, query = key.partition("?")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": self._scheme,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode("latin-1"),
            "headers": [(b"host", self._host), (b"accept", b"*/*")],
            "client": ("127.0.0.1", 0),
            "server": self._server,
            **self._outer,  # the application object and lifespan state, as a request carries
        }
        collected = Collected()
        done = asyncio.Event()
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                collected.status = message["status"]
                collected.headers = [(bytes(k).lower(), bytes(v)) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                collected.chunks.append(bytes(message.get("body", b"")))

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        except Exception:
            log.exception("rendering %s failed", key)
            self.stats.render_errors += 1
            return None
        finally:
            done.set()
            self.stats.renders += 1
            self.stats.render_seconds += time.perf_counter() - started
        if collected.status not in CACHEABLE_STATUS:
            if collected.status >= 500:
                self.stats.render_errors += 1  # keep the old bytes: stale-if-error
            else:
                self._drop(key)  # gone (404) or moved: the old bytes are wrong now
            return None
        previous = self.entries.get(key)
        # Compression releases the GIL: in a thread, readers keep being served meanwhile.
        rendered = await asyncio.to_thread(
            package,
            collected,
            version,
            previous.rendered if previous else None,
            vary_language=self.varies_by_language(path),
        )
        self._store(key, rendered, self.shown_by(path))
        return rendered

    def _drop(self, key: str) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.rendered.size

    def _store(self, key: str, rendered: Rendered, topics: frozenset[str] | None) -> None:
        self._drop(key)
        if rendered.size > self.max_bytes // 4:
            return  # one huge answer must not push everything else out
        self.entries[key] = Entry(rendered, topics=topics)
        self.bytes += rendered.size
        while self.bytes > self.max_bytes and self.entries:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= evicted.rendered.size

    # -- refreshing ------------------------------------------------------------------------

    async def refresh(self) -> int:
        """Re-render the stale entries readers asked for; drop the stale ones nobody did.

        Returns how many were re-rendered.
        """
        now = time.monotonic()
        stale = [(k, e) for k, e in list(self.entries.items()) if not self._fresh(e, now)]
        if not stale:
            return 0
        started = time.perf_counter()
        # Entries nobody asked for since their render are kept, stale, not re-rendered: the
        # next reader renders them anew, and if that fails (the database is down) still gets
        # these last good bytes (stale-if-error). Memory stays bounded by max_bytes (LRU).
        wanted = [(key, entry) for key, entry in stale if entry.hits > 0]
        wanted.sort(key=lambda item: item[1].hits, reverse=True)  # the busiest first
        # A few at a time: queries, compression and the thread hops overlap; the busiest first.
        slots = asyncio.Semaphore(REFRESH_CONCURRENCY)

        async def one(key: str, entry: Entry) -> None:
            async with slots:
                entry.refreshing = True
                try:
                    await self._render_once(key)
                finally:
                    entry.refreshing = False

        await asyncio.gather(*(one(key, entry) for key, entry in wanted))
        self.stats.refreshes += 1
        self.stats.last_refresh_seconds = time.perf_counter() - started
        return len(wanted)

    async def run(self) -> None:
        """Watch the data version and keep the entries fresh; runs for the app's lifespan."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            try:
                versions = await asyncio.to_thread(
                    data_version.read_versions, read_only(self.engine)
                )
                self.observe(versions.version, versions.changed)
                await self.refresh()
            except Exception:  # a database hiccup: keep serving what we have, try again
                log.exception("render cache refresh failed")

    async def start(self) -> None:
        """Start the refresher (once, however many lifespans share the app)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        """Stop the refresher if this loop owns it, then let this loop's renders finish.

        A render the refresher (or a reader who went away) started is a task of its own and
        outlives the refresher; its handler runs in a worker thread with a database session.
        Were the loop closed under it, the render would be cancelled before the session's
        teardown ran, leaving its connection open in a transaction (on PostgreSQL, "idle in
        transaction": it holds its tables' locks, and a DROP or a migration waits for it
        forever). So stop waits for them, up to ``STOP_SECONDS``.
        """
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and task.get_loop() is loop:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._task = None
            self._loop = self._wake = None
        renders = [t for t in self._inflight.values() if t.get_loop() is loop]
        if renders:
            _, pending = await asyncio.wait(renders, timeout=STOP_SECONDS)
            if pending:
                log.warning("%d renders still running at shutdown", len(pending))

    def close(self) -> None:
        """Stop hearing of this process's commits."""
        self._unsubscribe()

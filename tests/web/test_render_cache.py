"""The render cache: bytes from memory, fresh after every change, never a reader's headers."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from typing import Any

import brotli
import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.types import Message, Receive, Scope, Send

from app import data_version
from app.auth import service as auth
from app.cacheable import PublicRoute
from app.db import unit_of_work
from app.models import Component, DataVersion
from app.web.cached_answer import CACHE_CONTROL
from app.web.render_cache import RenderCache
from tests.conftest import FakeClock, make_component, open_incident


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """SQL the app runs, leaving out the cache's own version poll (its SELECT and its BEGIN)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        if "data_version" not in args[2] and args[2] not in ("BEGIN", "BEGIN IMMEDIATE"):
            seen.append(args[2])

    sa.event.listen(app.state.engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(app.state.engine, "before_cursor_execute", count)


def test_second_read_is_served_from_memory_without_a_query(
    staff: TestClient, client: TestClient, statements: list[str]
) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    first = client.get("/api/v2/summary.json")
    assert first.headers["x-pharos-cache"] == "miss"
    statements.clear()
    second = client.get("/api/v2/summary.json")
    assert second.headers["x-pharos-cache"] == "hit"
    assert statements == []
    assert second.content == first.content
    assert second.headers["cache-control"] == CACHE_CONTROL.decode()
    assert second.headers["etag"] == first.headers["etag"]


def test_a_write_is_visible_on_the_next_read(staff: TestClient, client: TestClient) -> None:
    component = make_component(staff, name="Cloud Services (OCPP)")
    client.get("/")
    before = client.get("/")
    assert before.headers["x-pharos-cache"] == "hit"
    assert "Delays processing charger status updates" not in before.text
    open_incident(
        staff,
        name="Delays processing charger status updates",
        components={component["id"]: "partial_outage"},
    )
    after = client.get("/")
    # rendered on write: the page readers asked for was re-rendered before the POST answered
    assert after.headers["x-pharos-cache"] == "hit"
    assert "Delays processing charger status updates" in after.text
    summary = client.get("/api/v2/summary.json").json()
    assert summary["components"][0]["status"] == "partial_outage"


def test_compressed_variants_have_their_own_etags_and_revalidate(
    staff: TestClient, client: TestClient
) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    gz = client.get("/", headers={"Accept-Encoding": "gzip"})
    br = client.get("/", headers={"Accept-Encoding": "gzip;q=0.5, br"})
    refused = client.get("/", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert "content-encoding" not in refused.headers
    assert gz.headers["content-encoding"] == "gzip"
    assert br.headers["content-encoding"] == "br"
    # httpx decodes both for us; the raw sizes tell they really were compressed
    assert int(br.headers["content-length"]) < int(gz.headers["content-length"])
    assert int(gz.headers["content-length"]) < len(plain.content) / 2
    assert gz.content == br.content == plain.content
    assert gz.headers["vary"] == "Accept-Encoding, Accept-Language"
    etags = {r.headers["etag"] for r in (plain, gz, br)}
    assert len(etags) == 3
    for response, encoding in ((plain, "identity"), (gz, "gzip"), (br, "br")):
        again = client.get(
            "/", headers={"If-None-Match": response.headers["etag"], "Accept-Encoding": encoding}
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == response.headers["etag"]
    summary = client.get("/api/v2/summary.json")
    since = client.get(
        "/api/v2/summary.json", headers={"If-Modified-Since": summary.headers["last-modified"]}
    )
    assert since.status_code == 304


def test_raw_bytes_decompress_to_the_page(staff: TestClient, app: FastAPI) -> None:
    make_component(staff, name="Cloud Services (OCPP)")

    async def raw(encoding: str) -> bytes:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
            c.stream("GET", "/api/v2/summary.json", headers={"Accept-Encoding": encoding}) as r,
        ):
            return b"".join([chunk async for chunk in r.aiter_raw()])

    plain = asyncio.run(raw("identity"))
    assert plain.startswith(b"{")
    assert gzip.decompress(asyncio.run(raw("gzip"))) == plain
    assert brotli.decompress(asyncio.run(raw("br"))) == plain


def test_head_has_the_headers_and_no_body(staff: TestClient, client: TestClient) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    get = client.get("/history", headers={"Accept-Encoding": "identity"})
    head = client.head("/history", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.content))


def test_a_readers_host_header_never_reaches_the_shared_bytes(
    staff: TestClient, client: TestClient
) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    poisoned = client.get("/", headers={"Host": "evil.example"})
    assert poisoned.status_code == 200
    assert "evil.example" not in poisoned.text
    assert "evil.example" not in client.get("/").text


def test_missing_pages_are_not_cached_and_deleted_ones_go_away(
    staff: TestClient, client: TestClient
) -> None:
    assert client.get("/incidents/doesnotexist").status_code == 404
    assert client.get("/incidents/doesnotexist").headers.get("x-pharos-cache") is None
    component = make_component(staff, name="Cloud Services (OCPP)")
    badge = f"/components/{component['id']}/badge.svg"
    assert client.get(badge).status_code == 200
    assert client.get(badge).headers["x-pharos-cache"] == "hit"
    assert staff.delete(f"/api/v1/components/{component['id']}").status_code == 204
    assert client.get(badge).status_code == 404


def test_staff_api_and_forms_are_never_cached(staff: TestClient, client: TestClient) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    assert "x-pharos-cache" not in staff.get("/api/v1/components").headers
    assert "x-pharos-cache" not in client.get("/subscribe").headers
    assert "x-pharos-cache" not in client.get("/healthz").headers


def test_only_public_writes_move_the_data_version(engine: Engine, clock: FakeClock) -> None:
    start = data_version.read(engine)
    with unit_of_work(engine) as session:
        auth.create_token(session, name="private", now=clock())  # a private table
    assert data_version.read(engine) == start
    heard: list[int] = []
    unsubscribe = data_version.subscribe(engine, heard.append)
    try:
        with unit_of_work(engine) as session:
            session.add(Component(name="A", created_at=clock(), updated_at=clock()))
            session.add(Component(name="B", created_at=clock(), updated_at=clock()))
            session.flush()
            session.add(Component(name="C", created_at=clock(), updated_at=clock()))
            session.commit()  # one transaction, one bump, however many flushes
        assert data_version.read(engine) == start + 1
        assert heard == [start + 1]
        with unit_of_work(engine) as session:
            session.add(Component(name="D", created_at=clock(), updated_at=clock()))
            session.flush()
            session.rollback()  # a rolled-back change bumps nothing and tells nobody
        assert data_version.read(engine) == start + 1
        with unit_of_work(engine) as session:
            session.execute(sa.update(Component).values(description="bulk"))
            session.commit()  # bulk statements bypass the flush, not the version
        assert data_version.read(engine) == start + 2
        assert heard == [start + 1, start + 2]
    finally:
        unsubscribe()


def test_a_savepoint_rolled_back_undoes_its_bump_and_a_released_one_keeps_it(
    engine: Engine, clock: FakeClock
) -> None:
    start = data_version.read(engine)
    heard: list[int] = []
    unsubscribe = data_version.subscribe(engine, heard.append)
    try:
        with unit_of_work(engine) as session:
            try:
                with session.begin_nested():  # a refused form, a bad incident file
                    session.add(Component(name="A", created_at=clock(), updated_at=clock()))
                    session.flush()
                    raise RuntimeError("refused")
            except RuntimeError:
                pass
            assert heard == []  # nothing is told before the outer transaction commits
            session.add(Component(name="B", created_at=clock(), updated_at=clock()))
        # the bump of the rolled-back savepoint went with it; B's write bumped again
        assert data_version.read(engine) == start + 1
        assert heard == [start + 1]
        with unit_of_work(engine) as session:
            with session.begin_nested():  # released: its bump is the transaction's
                session.add(Component(name="C", created_at=clock(), updated_at=clock()))
            assert heard == [start + 1]
        assert data_version.read(engine) == start + 2
        assert heard == [start + 1, start + 2]
    finally:
        unsubscribe()


def test_a_route_declared_public_is_cached_without_naming_it_anywhere(app: FastAPI) -> None:
    extra = APIRouter(route_class=PublicRoute)

    @extra.get("/brand-new.json")
    def brand_new() -> dict[str, str]:
        return {"hello": "readers"}

    private = APIRouter()

    @private.get("/brand-new-private.json")
    def brand_new_private() -> dict[str, str]:
        return {"hello": "staff"}

    app.include_router(extra)
    app.include_router(private)
    with TestClient(app) as client:
        assert client.get("/brand-new.json").headers["x-pharos-cache"] == "miss"
        assert client.get("/brand-new.json").headers["x-pharos-cache"] == "hit"
        assert "x-pharos-cache" not in client.get("/brand-new-private.json").headers


# -- the cache's own behaviour, on a small ASGI app that counts and can stall its renders --


class Pages:
    """An ASGI app answering every path with its render count; it can be made to wait or fail."""

    def __init__(self) -> None:
        self.renders = 0
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.renders += 1
        n = self.renders
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"boom"})
            return
        body = f"{scope['path']} render {n} ".encode() * 40
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def get(cache: RenderCache, path: str) -> tuple[str, bytes]:
    """One GET through the cache: (x-pharos-cache, body)."""
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    await cache(scope, receive, send)
    headers = dict(messages[0]["headers"])
    return headers.get(b"x-pharos-cache", b"").decode(), messages[1]["body"]


PUBLIC_URL = "https://status.example.com"


def everything(_path: str) -> bool:
    """The fake app's every address is public."""
    return True


def bump_elsewhere(engine: Engine) -> None:
    """What another replica's commit looks like from here: the row moves, no local event."""
    table = DataVersion.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.update(table).values(version=table.c.version + 1))


def test_readers_get_the_previous_bytes_while_a_render_runs(engine: Engine) -> None:
    async def scenario() -> None:
        pages = Pages()
        cache = RenderCache(pages, engine=engine, public_url=PUBLIC_URL, is_cacheable=everything)
        assert await get(cache, "/") == ("miss", b"/ render 1 " * 40)
        bump_elsewhere(engine)
        cache.observe(data_version.read(engine))
        pages.gate = asyncio.Event()
        refresh = asyncio.create_task(cache.refresh())
        await asyncio.sleep(0.01)  # the refresh is now stuck in the render
        # nobody asked since the render, so the stale entry was dropped, not re-rendered
        assert pages.renders == 1
        pages.gate.set()
        await refresh

        pages.gate = None
        await get(cache, "/")  # a miss renders anew (render 2)
        await get(cache, "/")  # a hit: asked for since the render, so worth refreshing
        bump_elsewhere(engine)
        cache.observe(data_version.read(engine))
        pages.gate = asyncio.Event()
        refresh = asyncio.create_task(cache.refresh())
        await asyncio.sleep(0.01)
        assert await get(cache, "/") == ("stale", b"/ render 2 " * 40)
        pages.gate.set()
        assert await refresh == 1
        assert await get(cache, "/") == ("hit", b"/ render 3 " * 40)
        cache.close()

    asyncio.run(scenario())


def test_the_refresher_notices_another_replicas_write_by_polling(engine: Engine) -> None:
    async def scenario() -> None:
        pages = Pages()
        cache = RenderCache(
            pages, engine=engine, public_url=PUBLIC_URL, is_cacheable=everything, poll_seconds=0.05
        )
        await cache.start()
        await get(cache, "/")
        await get(cache, "/")
        bump_elsewhere(engine)
        for _ in range(100):
            if pages.renders == 2:
                break
            await asyncio.sleep(0.02)
        assert await get(cache, "/") == ("hit", b"/ render 2 " * 40)
        await cache.stop()
        cache.close()

    asyncio.run(scenario())


def test_a_failed_render_keeps_the_previous_bytes(engine: Engine) -> None:
    async def scenario() -> None:
        pages = Pages()
        cache = RenderCache(pages, engine=engine, public_url=PUBLIC_URL, is_cacheable=everything)
        await get(cache, "/")
        bump_elsewhere(engine)
        cache.observe(data_version.read(engine))
        pages.fail = True
        assert await get(cache, "/") == ("stale", b"/ render 1 " * 40)
        pages.fail = False
        assert await get(cache, "/") == ("miss", b"/ render 3 " * 40)
        cache.close()

    asyncio.run(scenario())


def test_entries_age_out_after_the_ttl(engine: Engine) -> None:
    async def scenario() -> None:
        pages = Pages()
        cache = RenderCache(
            pages, engine=engine, public_url=PUBLIC_URL, is_cacheable=everything, ttl_seconds=0.05
        )
        await get(cache, "/")
        assert (await get(cache, "/"))[0] == "hit"
        await asyncio.sleep(0.06)
        assert await get(cache, "/") == ("miss", b"/ render 2 " * 40)
        cache.close()

    asyncio.run(scenario())


def test_memory_stays_within_the_bound(engine: Engine) -> None:
    async def scenario() -> None:
        pages = Pages()
        cache = RenderCache(
            pages, engine=engine, public_url=PUBLIC_URL, is_cacheable=everything, max_bytes=20_000
        )
        for n in range(50):
            await get(cache, f"/incidents/{n}")
        assert cache.bytes <= 20_000
        assert cache.bytes == sum(e.rendered.size for e in cache.entries.values())
        assert "/incidents/49" in cache.entries  # the most recent stay
        assert "/incidents/0" not in cache.entries
        cache.close()

    asyncio.run(scenario())


def test_metrics_count_hits_misses_and_revalidations(staff: TestClient, client: TestClient) -> None:
    make_component(staff, name="Cloud Services (OCPP)")
    first = client.get("/api/v2/status.json")
    client.get("/api/v2/status.json")
    client.get("/api/v2/status.json", headers={"If-None-Match": first.headers["etag"]})
    text = client.get("/metrics").text
    assert 'pharos_render_cache_answers_total{how="miss"} 1.0' in text
    assert 'pharos_render_cache_answers_total{how="hit"} 2.0' in text
    assert 'pharos_render_cache_answers_total{how="not_modified"} 1.0' in text
    assert "pharos_render_cache_entries 1.0" in text

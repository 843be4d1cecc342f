"""`pharos serve` answers render-cache hits before the framework sees the request
(app.server.with_hit_path). Those answers must be the framework's own, byte for byte and header
for header: in every language, content coding, conditional request, HEAD and CORS case."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from app.server import with_hit_path
from app.web.request_log import RequestLog
from tests.conftest import make_component, open_incident

PATHS = [
    "/",
    "/de/",
    "/fr/history/",
    "/api/v2/summary.json",
    "/api/v2/components.json",
    "/history.atom",
    "/badge.svg",
]
# Headers the cache decides by itself, per coding, and so may differ from an uncached answer.
CACHE_OWN = {
    "etag",
    "vary",
    "content-encoding",
    "content-length",
    "cache-control",
    "x-pharos-cache",
}


def asked(etags: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """(method, headers) of the reads compared, revalidations with this path's ETags."""
    return [
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"Accept-Encoding": "br"}),
        ("GET", {"Accept-Encoding": "gzip, deflate"}),
        ("GET", {"Accept-Encoding": "br;q=0, gzip"}),
        ("HEAD", {"Accept-Encoding": "br"}),
        ("GET", {"Accept-Language": "de"}),
        ("GET", {"Accept-Language": "nb-NO, en;q=0.8", "Accept-Encoding": "br"}),
        ("GET", {"Accept-Language": "xx, *;q=0.1"}),
        ("GET", {"Origin": "https://portal.example.com"}),
        ("GET", {"Origin": "https://portal.example.com", "Accept-Encoding": "br"}),
        ("GET", {"If-None-Match": etags["identity"]}),
        ("GET", {"If-None-Match": etags["br"], "Accept-Encoding": "br"}),
        ("HEAD", {"If-None-Match": f'"nope", W/{etags["identity"]}'}),
        ("GET", {"If-None-Match": '"nope"'}),
        ("GET", {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
        ("GET", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT", "Accept-Encoding": "gzip"}),
    ]


def answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers in order, raw body (still encoded)."""
    return response.status_code, list(response.headers.raw), response.content


def test_hits_answered_before_the_framework_are_the_frameworks_answers(
    app: FastAPI, staff: TestClient
) -> None:
    component = make_component(staff, name="Cloud Services (OCPP)")
    open_incident(staff, name="Charging delays", components={component["id"]: "major_outage"})
    reached: list[str] = []

    async def framework(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reached.append(scope["path"])
        await app(scope, receive, send)

    # As `pharos serve` builds it: the request log around the hit path around the app.
    served = RequestLog(with_hit_path(app, framework), trusted="")

    async def scenario() -> int:
        compared = 0
        base = "https://status.example.com"
        fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url=base)
        slow = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)
        async with fast, slow:
            for path in PATHS:
                etags: dict[str, str] = {}
                for coding in ("identity", "br"):
                    got = await slow.get(path, headers={"Accept-Encoding": coding})
                    assert got.status_code == 200, path
                    etags[coding] = got.headers["etag"]
                for method, headers in asked(etags):
                    await slow.request(method, path, headers=headers)  # a language's first read
                    reached.clear()
                    hit = await fast.request(method, path, headers=headers)
                    assert reached == [], f"{method} {path} {headers} reached the framework"
                    assert hit.headers["x-pharos-cache"] == "hit"
                    framework_hit = await slow.request(method, path, headers=headers)
                    assert answer(hit) == answer(framework_hit), (method, path, headers)
                    compared += 1
        return compared

    assert asyncio.run(scenario()) == len(PATHS) * len(asked({"identity": "", "br": ""}))


def test_a_hit_is_the_miss_that_rendered_it_and_keeps_every_rule_of_the_uncached_answer(
    app: FastAPI, settings: Settings, staff: TestClient
) -> None:
    """The first read renders (a miss); reads after it are hits with the same answer. Against
    the app with no render cache at all (the routes and every middleware, every time), the hit
    keeps every header that is not the cache's own: the CSP and the other security headers,
    Content-Language, Vary: Accept-Language where the language was negotiated, CORS."""
    component = make_component(staff, name="Cloud Services (OCPP)")
    open_incident(staff, name="Charging delays", components={component["id"]: "major_outage"})
    uncached_app = create_app(settings.model_copy(update={"render_cache": False}))
    served = RequestLog(with_hit_path(app, app), trusted="")
    requests: list[tuple[str, str, dict[str, str]]] = [
        ("GET", path, headers)
        for path in PATHS
        for headers in (
            {},
            {"Accept-Language": "sv"},
            {"Origin": "https://portal.example.com"},
        )
    ] + [("GET", "/fi/", {}), ("GET", "/api/v2/status.json", {"Accept-Language": "es"})]

    async def scenario() -> dict[str, Any]:
        base = "https://status.example.com"
        fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url=base)
        cold = httpx.AsyncClient(transport=httpx.ASGITransport(app=uncached_app), base_url=base)
        seen: dict[str, Any] = {}
        async with fast, cold:
            for method, path, headers in requests:
                first = await fast.request(method, path, headers=headers)
                second = await fast.request(method, path, headers=headers)
                uncached = await cold.request(method, path, headers=headers)
                label = f"{method} {path} {headers}"
                assert second.headers["x-pharos-cache"] == "hit", label
                assert first.headers["x-pharos-cache"] in ("miss", "hit"), label
                strip = [(k, v) for k, v in first.headers.raw if k != b"x-pharos-cache"]
                assert strip == [(k, v) for k, v in second.headers.raw if k != b"x-pharos-cache"]
                assert first.content == second.content, label
                assert uncached.status_code == second.status_code == 200, label

                def kept(response: httpx.Response) -> dict[str, str]:
                    return {k: v for k, v in response.headers.items() if k not in CACHE_OWN}

                assert kept(second) == kept(uncached), label
                vary = {v.strip() for v in second.headers.get("vary", "").split(",")}
                if "accept-language" in uncached.headers.get("vary", "").lower():
                    assert "Accept-Language" in vary, label
                seen[label] = second.headers
        return seen

    seen = asyncio.run(scenario())
    assert seen["GET /api/v2/summary.json {}"]["access-control-allow-origin"] == "*"
    assert "ETag" in seen["GET /api/v2/summary.json {}"]["access-control-expose-headers"]
    assert seen["GET / {'Accept-Language': 'sv'}"]["content-language"] == "sv"
    assert "frame-ancestors 'none'" in seen["GET /de/ {}"]["content-security-policy"]


def test_cached_api_answers_carry_cors_on_a_304_and_a_head_too(
    app: FastAPI, staff: TestClient
) -> None:
    """The CORS headers are kept with the cached answer, so every way it is served has them."""
    make_component(staff, name="Cloud Services (OCPP)")
    served = RequestLog(with_hit_path(app, app), trusted="")

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="https://s.test") as client:
            first = await client.get("/api/v2/summary.json")
            origin = {"Origin": "https://portal.example.com"}
            return [
                first,
                await client.get(
                    "/api/v2/summary.json",
                    headers={**origin, "If-None-Match": first.headers["etag"]},
                ),
                await client.head("/api/v2/summary.json", headers=origin),
                await client.get(
                    "/api/v2/summary.json", headers={**origin, "Accept-Encoding": "br"}
                ),
            ]

    answers = asyncio.run(scenario())
    assert [a.status_code for a in answers] == [200, 304, 200, 200]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "ETag" in answer.headers["access-control-expose-headers"]
    assert [a.headers["x-pharos-cache"] for a in answers[1:]] == ["hit", "hit", "hit"]

"""`pharos serve` on each ASGI server it offers, and its worker processes' lifetime."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from peers.net import free_port
from tests.serving import pharos, pharos_env, start, stop

EXAMPLE = Path(__file__).resolve().parent.parent / "incidents"


def children(pid: int) -> list[int]:
    """Child process ids of pid (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_granian_and_uvicorn_serve_the_same_bytes(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test", run_workers="false")
    # A page with content: an empty page is "updated" as of the moment each server renders it.
    pharos(env, "sync", "--create-components", str(EXAMPLE))
    granian = start(env, free_port(), tmp_path, "granian")
    uvicorn = start(env, free_port(), tmp_path, "uvicorn", "--server", "uvicorn")
    try:
        for path in ("/", "/api/v2/summary.json", "/history/"):
            a = httpx.get(granian.url + path, headers={"Accept-Encoding": "br"})
            b = httpx.get(uvicorn.url + path, headers={"Accept-Encoding": "br"})
            assert a.status_code == b.status_code == 200
            assert a.content == b.content
            assert a.headers["etag"] == b.headers["etag"]
            assert a.headers["content-encoding"] == "br"
    finally:
        stop(granian.process)
        stop(uvicorn.process)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_worker_does_not_outlive_a_killed_server(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test")
    server = start(env, free_port(), tmp_path)
    workers = children(server.process.pid)
    assert workers, "granian serves from a child process"
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/healthz", timeout=2)


def test_fresh_hits_are_answered_before_the_framework(app: FastAPI) -> None:
    from app.server import with_hit_path

    reached: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reached.append(scope["path"])
        await app(scope, receive, send)

    async def scenario() -> None:
        served = with_hit_path(app, inner)
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.get("/api/v2/status.json")
            second = await client.get("/api/v2/status.json")
            staff_api = await client.get("/api/v1/components")
        assert first.headers["x-pharos-cache"] == "miss"
        assert second.headers["x-pharos-cache"] == "hit"
        assert second.content == first.content
        # A hit skips the middlewares, CORS's too: a page on another origin (Atlassian's
        # status widget, say) must still be let read it.
        for answer in (first, second):
            assert answer.headers["access-control-allow-origin"] == "*"
        assert staff_api.status_code == 401
        assert reached == ["/api/v2/status.json", "/api/v1/components"]

    asyncio.run(scenario())


def test_without_a_public_url_links_follow_the_listening_port(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "unused", run_workers="false")
    del env["PHAROS_PUBLIC_URL"]
    port = free_port()
    server = start(env, port, tmp_path)
    try:
        page = httpx.get(f"{server.url}/").text
        feed = httpx.get(f"{server.url}/history.atom").text
    finally:
        stop(server.process)
    here = f"http://127.0.0.1:{port}"
    assert f'href="{here}/history.atom"' in page  # rel=alternate
    assert f'href="{here}/history.atom"' in feed  # rel=self
    assert "127.0.0.1:8000" not in page + feed

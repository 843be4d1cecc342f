"""`pharos serve` runs granian over RSGI (app.rsgi): the render cache's fresh hits answered in
RSGI itself, everything else by the ASGI app through app.rsgi's ASGI-over-RSGI server.

Each test runs a real granian in a subprocess on loopback, and compares with what granian's
own ASGI server gives for the same requests: the hits header for header and byte for byte,
and the ASGI scope, bodies, streaming, errors and lifespan for any ASGI app.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peers.net import free_port
from tests.rsgi_apps import BIG
from tests.serving import pharos, pharos_env, start, stop
from tests.web.test_hit_path import PATHS, asked

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "incidents"
GRANIAN = Path(sys.executable).parent / "granian"


@contextlib.contextmanager
def granian(
    target: str, interface: str, tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`granian --interface <interface> --factory <target>` on a free loopback port."""
    port = free_port()
    log = tmp_path / f"granian-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(str(GRANIAN), "--interface", interface, "--loop", "uvloop", "--no-ws"),
                *("--port", str(port), "--factory", target),
            ],
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url, process
    finally:
        stop(process)


def raw(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers as sent (but Date), body as sent (still encoded)."""
    headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"date"]
    return response.status_code, headers, response.content


def test_hits_over_rsgi_are_the_asgi_servers_answers(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test", run_workers="false")
    pharos(env, "sync", "--create-components", str(EXAMPLE))
    rsgi = start(env, free_port(), tmp_path, "rsgi")
    asgi = start(env, free_port(), tmp_path, "asgi", "--server", "granian-asgi")
    try:
        with httpx.Client() as client:
            for path in PATHS:
                for server in (rsgi, asgi):
                    assert client.get(server.url + path).status_code == 200  # rendered
                etags = {
                    coding: client.get(rsgi.url + path, headers={"Accept-Encoding": coding})
                    .headers["etag"]
                    .removeprefix("W/")
                    for coding in ("identity", "br")
                }
                for method, headers in asked(etags):
                    for server in (rsgi, asgi):  # each language is rendered on first read
                        client.get(server.url + path, headers=headers)
                    ours = client.request(method, rsgi.url + path, headers=headers)
                    theirs = client.request(method, asgi.url + path, headers=headers)
                    assert ours.headers["x-pharos-cache"] == "hit", (path, method, headers)
                    assert raw(ours) == raw(theirs), (path, method, headers)
    finally:
        stop(rsgi.process)
        stop(asgi.process)


def test_fresh_hits_never_reach_the_asgi_app(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test", run_workers="false")
    pharos(env, "migrate")
    with granian("tests.rsgi_apps:counted", "rsgi", tmp_path, env) as (url, _):
        calls = json.loads(httpx.get(url + "/test-calls").content)
        for _ in range(3):
            for path in ("/api/v2/summary.json", "/de/", "/?page=2"):
                assert httpx.get(url + path).status_code == 200
        httpx.get(url + "/", headers={"Accept-Language": "fr"}).raise_for_status()
        httpx.get(url + "/", headers={"Accept-Language": "fr"}).raise_for_status()
        reached = json.loads(httpx.get(url + "/test-calls").content)[len(calls) :]
    # each address once, when it was rendered; "/" in French is its own address
    assert sorted(reached) == ["/", "/", "/api/v2/summary.json", "/de/"]


@pytest.fixture
def both(
    tmp_path: Path,
) -> Iterator[tuple[str, str, Path]]:
    """tests.rsgi_apps.plain under granian over ASGI and over app.rsgi; the file the RSGI
    one's lifespan shutdown writes."""
    shutdown = tmp_path / "shut-down"
    env = {**os.environ, "PHAROS_TEST_SHUTDOWN_FILE": str(shutdown)}
    asgi_env = {**env, "PHAROS_TEST_SHUTDOWN_FILE": str(tmp_path / "asgi-shut-down")}
    with (
        granian("tests.rsgi_apps:plain", "asgi", tmp_path, asgi_env) as (theirs, _),
        granian("tests.rsgi_apps:plain_rsgi", "rsgi", tmp_path, env) as (ours, _),
    ):
        yield ours, theirs, shutdown


def test_the_asgi_app_gets_the_scope_an_asgi_server_gives(both: tuple[str, str, Path]) -> None:
    ours, theirs, _ = both
    for method, target, headers, body in [
        ("GET", "/scope", [], b""),
        ("GET", "/scope?a=%41&b=%C3%BC&c=d+e&flag", [("Accept-Language", "de")], b""),
        ("POST", "/scope", [("Content-Type", "application/json")], b'{"name": "x"}'),
        ("PUT", "/scope?x=1", [("X-Twice", "1"), ("X-Twice", "2")], b"a" * 100_000),
        ("DELETE", "/scope", [("Cookie", "a=1")], b""),
        ("GET", "/scope%20x/%C3%BC/a%2Fb", [], b""),  # decoded, not ours: a 404 both ways
    ]:
        a = httpx.request(method, ours + target, headers=headers, content=body)
        b = httpx.request(method, theirs + target, headers=headers, content=body)
        assert a.status_code == b.status_code, target
        if a.status_code == 200:
            seen, given = json.loads(a.content), json.loads(b.content)
            # Other than granian's ASGI: the server's port is an int, as the ASGI spec has it,
            # and no extensions are offered (its http.response.pathsend isn't served here).
            del given["extensions"]
            ours_port, theirs_port = ours.rsplit(":", 1)[1], theirs.rsplit(":", 1)[1]
            assert seen.pop("server") == ["127.0.0.1", int(ours_port)]
            assert given.pop("server") == ["127.0.0.1", theirs_port]
            given["headers"] = [
                [k, v.replace(theirs_port, ours_port) if k == "host" else v]
                for k, v in given["headers"]
            ]
            assert seen == given
            assert seen["body"] == body.decode()
            assert seen["state"] == {"started": "yes"}  # the lifespan's state, per request
        else:
            assert raw(a) == raw(b)


def test_bodies_stream_both_ways_and_failures_answer_500(both: tuple[str, str, Path]) -> None:
    ours, theirs, _ = both
    big = httpx.get(ours + "/big")
    assert big.status_code == 200 and len(big.content) == BIG
    assert big.content == httpx.get(theirs + "/big").content

    def chunks() -> Iterator[bytes]:
        for i in range(64):
            yield bytes([65 + i % 26]) * 65536

    sent = b"".join(chunks())
    echoed = httpx.post(ours + "/echo", content=chunks())
    assert echoed.status_code == 201 and echoed.content == sent
    assert echoed.headers.get("transfer-encoding") == "chunked"  # held past HELD_BYTES: streamed
    small = httpx.post(ours + "/echo", content=b"hello")
    assert (small.status_code, small.content) == (201, b"hello")
    for path in ("/fail", "/silent", "/late"):
        failed = httpx.get(ours + path)
        assert failed.status_code == 500, path
        assert failed.text == "Internal Server Error"
    assert httpx.get(ours + "/header").headers["x-name"] == "Skånevik"
    assert httpx.get(ours + "/scope").status_code == 200  # still serving


def test_the_lifespan_shuts_down_with_the_server(tmp_path: Path) -> None:
    shutdown = tmp_path / "shut-down"
    env = {**os.environ, "PHAROS_TEST_SHUTDOWN_FILE": str(shutdown)}
    with granian("tests.rsgi_apps:plain_rsgi", "rsgi", tmp_path, env) as (url, process):
        assert json.loads(httpx.get(url + "/scope").content)["state"] == {"started": "yes"}
        assert not shutdown.exists()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert shutdown.read_text() == "shut down"


def test_hits_answered_over_rsgi_are_logged_as_every_request_is(tmp_path: Path) -> None:
    env = pharos_env(tmp_path / "pharos.db", "http://status.test", run_workers="false")
    server = start(env, free_port(), tmp_path, "rsgi")  # PHAROS_LOG_LEVEL: info, the default
    try:
        for _ in range(3):
            assert httpx.get(server.url + "/api/v2/summary.json").status_code == 200
        etag = httpx.get(server.url + "/api/v2/summary.json").headers["etag"]
        assert httpx.get(server.url + "/", headers={"If-None-Match": '"x"'}).status_code == 200
        revalidated = httpx.get(
            server.url + "/api/v2/summary.json", headers={"If-None-Match": etag}
        )
        assert revalidated.status_code == 304
        assert revalidated.headers["x-pharos-cache"] == "hit"
    finally:
        stop(server.process)
    lines = server.stderr.read_text().splitlines()
    assert sum(" 127.0.0.1 GET /api/v2/summary.json 200 " in line for line in lines) == 4
    assert sum(" 127.0.0.1 GET /api/v2/summary.json 304 " in line for line in lines) == 1

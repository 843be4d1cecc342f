"""One log line per request, at the default level, without secrets."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.web.request_log import RequestLog, loggable_path
from peers.net import free_port
from tests.serving import Server, create_token, pharos_env, start, stop

LINE = re.compile(r"^(\S+) (GET|POST|OPTIONS|HEAD) (\S+) (\d{3}) \d+\.\dms$")


def test_token_like_segments_are_hidden() -> None:
    token = secrets.token_urlsafe(32)
    assert loggable_path(f"/subscriptions/{token}/unsubscribe") == "/subscriptions/*/unsubscribe"
    assert loggable_path("/api/v2/incidents/abcdef123456") == "/api/v2/incidents/abcdef123456"


def test_each_request_is_one_line_with_method_path_status_and_time(
    app: FastAPI, staff: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pharos.http")
    token = secrets.token_urlsafe(32)
    with TestClient(RequestLog(app, trusted="127.0.0.1"), headers=dict(staff.headers)) as logged:
        assert logged.get("/api/v2/status.json").status_code == 200
        logged.get("/api/v2/incidents.json", params={"page": 0, "secret": "hunter2"})
        logged.get(f"/subscriptions/{token}/unsubscribe")
        logged.post("/api/v1/components", json={"name": "OCPP"})
    lines = [r.getMessage() for r in caplog.records if r.name == "pharos.http"]
    assert [LINE.match(line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("testclient", "GET", "/api/v2/status.json", "200"),
        ("testclient", "GET", "/api/v2/incidents.json", "422"),
        ("testclient", "GET", "/subscriptions/*/unsubscribe", "404"),
        ("testclient", "POST", "/api/v1/components", "201"),
    ]
    text = "\n".join(lines)
    bearer = staff.headers["authorization"].split()[1]
    assert token not in text and "hunter2" not in text and bearer not in text


@pytest.mark.parametrize(
    ("peer", "forwarded", "logged"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # behind the trusted proxy: the client
        ("127.0.0.1", "198.51.100.2, 203.0.113.7", "203.0.113.7"),  # the proxy appended its peer
        ("127.0.0.1", "x" * 200, "127.0.0.1"),  # not an address: the proxy's is kept
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not a trusted proxy: ignored
    ],
)
def test_the_log_names_the_client_behind_a_trusted_proxy(
    app: FastAPI, caplog: pytest.LogCaptureFixture, peer: str, forwarded: str, logged: str
) -> None:
    caplog.set_level(logging.INFO, logger="pharos.http")
    with TestClient(RequestLog(app, trusted="127.0.0.1,::1"), client=(peer, 40000)) as c:
        c.get("/api/v2/status.json", headers={"X-Forwarded-For": forwarded})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pharos.http"]
    assert LINE.match(line).groups()[:2] == (logged, "GET")  # type: ignore[union-attr]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`pharos serve` with nothing said about logging: the default level."""
    running = start(pharos_env(tmp_path / "pharos.db", "http://status.test"), free_port(), tmp_path)
    yield running
    stop(running.process)


def test_a_real_server_logs_every_request_once_cache_hits_included(server: Server) -> None:
    token = create_token(server.env)
    with httpx.Client(base_url=server.url) as client:
        client.get("/api/v2/summary.json")
        hit = client.get("/api/v2/summary.json")
        assert hit.headers["x-pharos-cache"] == "hit"
        client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
        # loopback is a trusted proxy by default: its client is logged, a hit's too
        client.get("/api/v2/summary.json", headers={"X-Forwarded-For": "203.0.113.7"})
    stop(server.process)
    log = server.stderr.read_text()
    assert log.count("127.0.0.1 GET /api/v2/summary.json 200 ") == 2, log
    assert log.count("127.0.0.1 GET /api/v1/incidents 200 ") == 1, log
    assert log.count("203.0.113.7 GET /api/v2/summary.json 200 ") == 1, log
    assert token not in log

"""End to end: webhooks survive `kill -9` of the server mid fan-out; nothing is lost.

A real receiver listens on loopback and checks every signature with the standardwebhooks
package. `pharos serve` fans one incident out to many subscribers, is killed with SIGKILL
while delivering, and is started again on the same database. Every subscriber must end up
with every event (at least once: duplicates carry the same webhook-id).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from peers.net import free_port
from tests.serving import PHAROS, create_token, pharos_env, start, stop

SUBSCRIBERS = 120
RECEIVER_DELAY = 0.1  # seconds per request, so the fan-out takes a few seconds
DEADLINE = 90.0


class Receiver:
    """Collects verified deliveries per path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.seen: dict[str, dict[str, str]] = defaultdict(dict)  # path -> webhook-id -> type
        self.requests = 0
        self.bad_signatures: list[str] = []

    def unique(self) -> int:
        """Distinct deliveries received."""
        with self.lock:
            return sum(len(ids) for ids in self.seen.values())


def serve_receiver(receiver: Receiver) -> tuple[ThreadingHTTPServer, str]:
    """Start the receiver on a loopback port; returns the server and its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            body = self.rfile.read(length)
            if len(body) < length:  # the sender was killed mid-request: nothing to check
                return
            time.sleep(RECEIVER_DELAY)
            with receiver.lock:
                receiver.requests += 1
                secret = receiver.secrets.get(self.path)
            try:
                assert secret is not None
                payload = Webhook(secret).verify(body, dict(self.headers.items()))
            except Exception as exc:
                with receiver.lock:
                    receiver.bad_signatures.append(f"{self.path}: {exc!r}")
                self.send_response(400)
                self.end_headers()
                return
            with receiver.lock:
                receiver.seen[self.path][self.headers["webhook-id"]] = payload["type"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()
    server, url = serve_receiver(state)
    yield state, url
    server.shutdown()


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll a zero-argument callable until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_kill_9_mid_fan_out_loses_nothing(tmp_path: Path, receiver: tuple[Receiver, str]) -> None:
    state, receiver_url = receiver
    port = free_port()
    env = pharos_env(
        tmp_path / "pharos.db",
        f"http://127.0.0.1:{port}",
        webhook_allow_private="true",
        webhook_timeout_seconds="2",
        webhook_lease_seconds="4",
        webhook_concurrency="8",
        worker_poll_seconds="0.2",
    )
    server = start(env, port, tmp_path, name="first")
    try:
        headers = {"Authorization": f"Bearer {create_token(env)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10.0) as staff:
            for n in range(SUBSCRIBERS):
                path = f"/hook/{n}"
                created = staff.post("/api/v1/subscribers", json={"url": receiver_url + path})
                assert created.status_code == 201, created.text
                state.secrets[path] = created.json()["secret"]
            incident = staff.post(
                "/api/v1/incidents",
                json={"name": "Delays processing charger status updates", "body": "Investigating."},
            )
            assert incident.status_code == 201
            update = staff.post(
                f"/api/v1/incidents/{incident.json()['id']}/updates",
                json={"status": "identified", "body": "Two stalled processors."},
            )
            assert update.status_code == 201
        expected = 2 * SUBSCRIBERS
        wait_for(lambda: state.unique() >= 30, 30, "the first deliveries")
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        at_kill = state.unique()
        assert at_kill < expected, "the fan-out finished before the kill; slow the receiver"
    finally:
        stop(server.process)

    restarted = start(env, port, tmp_path, name="second")
    try:
        wait_for(lambda: state.unique() >= expected, DEADLINE, "every delivery after restart")
    finally:
        stop(restarted.process)

    assert state.bad_signatures == []
    assert len(state.seen) == SUBSCRIBERS
    for path, deliveries in state.seen.items():
        assert sorted(deliveries.values()) == ["incident.created", "incident.updated"], path
    duplicates = state.requests - expected
    print(
        json.dumps(
            {
                "delivered_before_kill": at_kill,
                "expected": expected,
                "duplicates_after_restart": duplicates,
            }
        )
    )


def test_a_separate_pharos_worker_process_delivers(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, receiver_url = receiver
    port = free_port()
    env = pharos_env(
        tmp_path / "pharos.db",
        f"http://127.0.0.1:{port}",
        run_workers="false",
        webhook_allow_private="true",
        worker_poll_seconds="0.2",
    )
    server = start(env, port, tmp_path)
    worker = subprocess.Popen(
        [str(PHAROS), "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert httpx.get(f"{server.url}/healthz").json()["workers"] == {}
        headers = {"Authorization": f"Bearer {create_token(env)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10.0) as staff:
            created = staff.post("/api/v1/subscribers", json={"url": receiver_url + "/w"})
            state.secrets["/w"] = created.json()["secret"]
            staff.post("/api/v1/incidents", json={"name": "Worker test", "body": "Testing."})
        wait_for(lambda: state.unique() >= 1, 30, "the worker's delivery")
        assert list(state.seen["/w"].values()) == ["incident.created"]
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        stop(server.process)
    assert worker.returncode == 0  # SIGTERM is a clean stop

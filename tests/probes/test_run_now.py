"""Running a probe now from the staff API holds no transaction while the probe waits on the
network: other writers go through meanwhile (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FakeClock

SLOW = 2.0  # seconds the probed endpoint takes to answer


@pytest.fixture
def slow_endpoint() -> Iterator[str]:
    """An HTTP endpoint on loopback that answers 200 after SLOW seconds."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(SLOW)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.shutdown()
    server.server_close()


def test_a_probe_run_now_holds_up_no_other_writer(
    staff: TestClient, slow_endpoint: str, clock: FakeClock
) -> None:
    """Before, the token check opened the request's write transaction and the run happened
    inside it: on SQLite every writer waited for the probed endpoint; on PostgreSQL the token's
    row stayed locked from a later request noting its own use."""
    probe = {"name": "api", "kind": "http", "component": "Charging API", "url": slow_endpoint}
    assert staff.post("/api/v1/probes", json=probe).status_code == 201
    clock.advance(minutes=2)  # the run notes the token's use (before: a row lock it then held)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(staff.post, "/api/v1/probes/api/run")
        time.sleep(0.5)  # the probe's request is on its way and waits
        clock.advance(minutes=2)  # the write below notes the token's use again
        started = time.monotonic()
        made = staff.post("/api/v1/components", json={"name": "OCPP"})
        took = time.monotonic() - started
        assert made.status_code == 201, made.text
        ran = running.result()
    assert ran.status_code == 200, ran.text
    assert ran.json()["recorded"] is True
    # It did wait for the endpoint: 2 s is the probe's default "slow".
    assert ran.json()["result"]["status"] == "degraded_performance"
    assert took < 1.0, f"a staff write waited {took:.1f} s for a probe run now"
    shown = staff.get("/api/v1/probes/api").json()
    assert len(shown["recent_results"]) == 1

"""DNS rebinding: deliveries go to the address that was checked, never to a second answer.

The resolver is the test's (socket.getaddrinfo replaced in this process only). Two real HTTP
servers listen on loopback: the subscriber's receiver on 127.0.0.1 and an internal service on
127.0.0.2, on the same port. For these tests 127.0.0.1 counts as a public address and 127.0.0.2
as the private one an attacker wants to reach. The rebinding name answers the receiver's address
and the internal one in turn, as a zero-TTL name can.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.models import Delivery
from app.notifications import outbound, targets
from app.notifications.worker import DeliveryWorker
from tests.conftest import FakeClock, make_component, subscribe_webhook

RECEIVER = ipaddress.ip_address("127.0.0.1")
INTERNAL = ipaddress.ip_address("127.0.0.2")
REBINDING_HOST = "hooks.rebind.test"


class Server:
    """A loopback HTTP server counting the requests it gets."""

    def __init__(self, host: str, port: int) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                hits.append(self.headers.get("host", ""))
                self.send_response(204)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    """The receiver (127.0.0.1) and the internal service (127.0.0.2) on one free port."""
    for _ in range(20):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            receiver = Server(str(RECEIVER), port)
            internal = Server(str(INTERNAL), port)
        except OSError:
            continue
        yield receiver, internal
        receiver.stop()
        internal.stop()
        return
    pytest.fail("no free port on both loopback addresses")


class RebindingResolver:
    """Answers the receiver's address and the internal one in turn for REBINDING_HOST."""

    def __init__(self, answers: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
        self.answers = answers
        self.calls = 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != REBINDING_HOST:
            return self.real(host, port, *args, **kwargs)
        address = self.answers[self.calls % len(self.answers)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (str(address), int(port)))]


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 plays a public receiver; every other address keeps its real standing."""
    real = targets.is_public
    monkeypatch.setattr(targets, "is_public", lambda a: a == RECEIVER or real(a))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_private": False, "webhook_timeout_seconds": 2.0}
    )


def run_worker_until(worker: DeliveryWorker, done: Callable[[], bool], seconds: float) -> None:
    """Run the worker's own loop (its own HTTP client) until `done()` or the time is up."""

    async def main() -> None:
        task = asyncio.create_task(worker.run(lambda: None))
        for _ in range(int(seconds / 0.05)):
            if done():
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


@pytest.mark.usefixtures("loopback_is_public")
def test_a_rebinding_name_never_gets_a_delivery_onto_the_internal_address(
    staff: TestClient,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    servers: tuple[Server, Server],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, internal = servers
    port = receiver.httpd.server_address[1]
    monkeypatch.setattr(socket, "getaddrinfo", RebindingResolver([RECEIVER]))
    subscribe_webhook(staff, f"http://{REBINDING_HOST}:{port}/hook")
    make_component(staff, name="OCPP")  # one event: component.created is not sent; update is
    staff.patch(
        "/api/v1/components/" + staff.get("/api/v1/components").json()[0]["id"],
        json={"status": "major_outage"},
    )
    # From now on the name answers public, internal, public, internal...: every check sees
    # the public answer first, and an unpinned client's second lookup gets the internal one.
    resolver = RebindingResolver([RECEIVER, INTERNAL])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    worker = DeliveryWorker(engine, settings, clock=clock)

    def settled() -> Delivery:
        with unit_of_work(engine) as session:
            (delivery,) = session.exec(select(Delivery)).all()
            return delivery

    run_worker_until(
        worker, lambda: bool(internal.hits) or settled().last_status_code is not None, seconds=5
    )
    assert internal.hits == []
    assert receiver.hits == [f"{REBINDING_HOST}:{port}"]  # the Host header names the host
    assert settled().last_status_code == 204


def test_a_name_with_any_private_answer_is_refused_before_connecting(
    servers: tuple[Server, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, internal = servers
    port = receiver.httpd.server_address[1]

    def both(host: str, port: int) -> list[targets.IPAddress]:
        return [RECEIVER, INTERNAL]

    async def post() -> httpx.Response:
        async with outbound.async_client(allow_private=False, resolve=both) as http:
            return await http.post(f"http://{REBINDING_HOST}:{port}/", content=b"{}")

    with pytest.raises(httpx.ConnectError, match=r"refused: .*127\.0\.0\.2") as caught:
        asyncio.run(post())
    assert isinstance(caught.value.__cause__, outbound.BlockedAddress)
    assert receiver.hits == internal.hits == []


def test_the_blocking_client_pins_too(servers: tuple[Server, Server]) -> None:
    receiver, internal = servers
    port = receiver.httpd.server_address[1]
    answers = iter([[INTERNAL], [RECEIVER]])

    def rebinding(host: str, port: int) -> list[targets.IPAddress]:
        return list(next(answers))

    # Private targets allowed: still one lookup per connection, and that answer is used.
    with outbound.client(allow_private=True, resolve=rebinding) as http:
        assert http.get(f"http://{REBINDING_HOST}:{port}/").status_code == 204
    assert internal.hits == [f"{REBINDING_HOST}:{port}"]
    assert receiver.hits == []
    with (
        outbound.client(allow_private=False, resolve=lambda h, p: [INTERNAL]) as http,
        pytest.raises(httpx.ConnectError, match="refused"),
    ):
        http.get(f"http://{REBINDING_HOST}:{port}/")

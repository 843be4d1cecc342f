"""HEAD is answered wherever GET is (RFC 9110, 9.3.2), with the cache on or off: FastAPI's GET
routes answered HEAD with 405, so only render-cache hits had it (`HEAD /healthz` from a load
balancer was a 405)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.auth import service as auth
from app.clock import get_clock
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from tests.conftest import FakeClock, make_component, open_incident

PATHS = [
    "/",
    "/de/",
    "/healthz",
    "/uptime/?from=2025-06-01&to=2025-09-06",
    "/api/v2/summary.json",
    "/api/v2/uptime.json?from=2025-06-01&to=2025-09-06",
    "/history.atom",
    "/subscribe",
    "/admin/login",
    "/static/style.css",
]
# Headers that may differ between two answers of the same address a moment apart.
MOMENTARY = {"date", "x-pharos-cache", "x-request-id", "set-cookie"}


@pytest.mark.parametrize("render_cache", [True, False], ids=["cache", "no-cache"])
def test_head_answers_as_get_without_the_body(
    settings: Settings, engine: Engine, clock: FakeClock, render_cache: bool
) -> None:
    settings.render_cache = render_cache
    app = create_app(settings)
    app.dependency_overrides[get_clock] = lambda: clock
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="tester", now=clock())
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        # Something on the page, so its last change is that, not the moment of reading.
        make_component(client, name="Cloud Services (OCPP)")
        for path in PATHS:
            got = client.get(path)
            head = client.head(path)
            assert got.status_code == 200, path
            assert head.status_code == 200, (path, head.status_code)
            assert head.content == b"", path
            assert head.headers["content-length"] == got.headers["content-length"], path
            same = {k: v for k, v in got.headers.items() if k not in MOMENTARY}
            assert {k: v for k, v in head.headers.items() if k not in MOMENTARY} == same, path


def test_head_of_an_address_without_get_is_still_405(staff: TestClient) -> None:
    incident = open_incident(staff, name="Charging delays")
    answer = staff.head(f"/api/v1/incidents/{incident['id']}/updates")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.content == b""


def test_head_of_staff_reads_needs_the_token_like_get(
    client: TestClient, staff: TestClient
) -> None:
    component = make_component(staff, name="Cloud Services (OCPP)")
    open_incident(staff, name="Charging delays", components={component["id"]: "major_outage"})
    assert client.head("/api/v1/incidents").status_code == 401
    head = staff.head("/api/v1/incidents")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(staff.get("/api/v1/incidents").content)

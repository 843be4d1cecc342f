"""The database goes away: public answers keep their last good bytes, /healthz says 503.

The outage is real for the app: its engine's pooled connections are closed and every new one
fails, as when the database server stops."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import make_component, open_incident

PUBLIC = ["/", "/history", "/api/v2/summary.json", "/history.atom", "/uptime"]


@pytest.fixture
def outage(app: FastAPI) -> Iterator[list[bool]]:
    """Call `outage[0] = True` to take the database away from the app."""
    down = [False]
    engine: sa.Engine = app.state.engine

    def refuse(*args: Any, **kwargs: Any) -> None:
        if down[0]:
            raise sa.exc.OperationalError("connect", {}, Exception("database is down"))

    sa.event.listen(engine, "do_connect", refuse)
    yield down
    down[0] = False
    sa.event.remove(engine, "do_connect", refuse)


def take_down(app: FastAPI, outage: list[bool]) -> None:
    outage[0] = True
    app.state.engine.dispose()  # pooled connections go too


def test_public_answers_nobody_read_since_a_write_survive_an_outage(
    app: FastAPI, staff: TestClient, client: TestClient, outage: list[bool]
) -> None:
    ocpp = make_component(staff, name="OCPP")
    before = {path: client.get(path) for path in PUBLIC}
    assert all(r.status_code == 200 for r in before.values())
    # A write: every cached answer is stale now, and none was read since.
    open_incident(staff, components={ocpp["id"]: "major_outage"})
    fresh = client.get("/api/v2/summary.json")  # one is read again: re-rendered
    assert fresh.json()["incidents"]
    take_down(app, outage)
    for path in PUBLIC:
        during = client.get(path)
        assert during.status_code == 200, (path, during.text[:200])
        expected = fresh if path == "/api/v2/summary.json" else before[path]
        assert during.content == expected.content, path


def test_healthz_reports_the_database_and_livez_the_process(
    app: FastAPI, client: TestClient, outage: list[bool]
) -> None:
    ok = client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json()["database"] == "ok"
    take_down(app, outage)
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["database"].startswith("down")
    assert client.get("/livez").status_code == 200

"""Shutting down while the render cache's refresher has a render in flight.

The render outlives the refresher (it is a task of its own); if the event loop closed under it,
its handler's database session was never closed: on PostgreSQL the connection stayed "idle in
transaction" holding its locks, and the test's DROP SCHEMA waited for it forever.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import data_version
from app.db import unit_of_work
from app.incidents import read


def test_shutdown_waits_for_a_refresh_render_and_its_session_is_closed(
    app: FastAPI, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked_out = 0
    counted = threading.Lock()

    def checkout(*_: Any) -> None:
        nonlocal checked_out
        with counted:
            checked_out += 1

    def checkin(*_: Any) -> None:
        nonlocal checked_out
        with counted:
            checked_out -= 1

    sa.event.listen(app.state.engine, "checkout", checkout)
    sa.event.listen(app.state.engine, "checkin", checkin)

    started, finished = threading.Event(), threading.Event()
    slow = False
    last_change = read.last_change

    def slow_last_change(session: Session) -> datetime | None:
        if not slow:
            return last_change(session)
        started.set()
        time.sleep(0.3)  # the render is in its handler, its session in a transaction
        try:
            return last_change(session)
        finally:
            finished.set()

    monkeypatch.setattr(read, "last_change", slow_last_change)
    with TestClient(app) as client:
        for _ in range(2):  # cached, and asked for since: the refresher re-renders it
            assert client.get("/api/v2/status.json").status_code == 200
        slow = True
        with unit_of_work(engine) as session:  # a change made outside any request
            data_version.changes_public_view(session)
        assert started.wait(10), "the refresher did not re-render"
        # leaving the client ends the lifespan while the render is in its handler

    assert finished.is_set(), "the lifespan ended before the render it had started"
    assert finished.wait(5)
    time.sleep(0.2)  # had the render been cut off, its thread ends meanwhile
    assert checked_out == 0, "a render's connection was never given back"

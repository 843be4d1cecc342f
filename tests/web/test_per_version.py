"""Parts of public answers kept per data version: built once, never older than the version."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app import data_version
from app.db import read_session
from app.web import per_version
from app.web.per_version import PerVersion
from tests.conftest import make_component


def test_a_part_is_built_once_per_version_and_again_after_a_change(
    app: FastAPI, engine: Engine, staff: TestClient
) -> None:
    kept = PerVersion()
    built: list[int] = []

    def part(value: int) -> int:
        def build() -> int:
            built.append(value)
            return value

        with read_session(engine) as session:
            return kept.get(session, "part", build)

    assert part(1) == 1
    assert part(2) == 1  # the same version: kept
    make_component(staff, name="OCPP gateway")  # a change moves the version
    assert part(3) == 3
    assert built == [1, 3]
    assert len(kept._kept) == 1  # the older version's part is of no more use: dropped


def test_renders_at_the_same_time_wait_for_one_build(engine: Engine) -> None:
    kept = PerVersion()
    builds = 0
    started = threading.Event()

    def slow() -> str:
        nonlocal builds
        builds += 1
        started.set()
        time.sleep(0.2)
        return "built"

    got: list[str] = []

    def render() -> None:
        with read_session(engine) as session:
            got.append(kept.get(session, "part", slow))

    first = threading.Thread(target=render)
    first.start()
    started.wait(5)
    others = [threading.Thread(target=render) for _ in range(3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(5)
    assert got == ["built"] * 4
    assert builds == 1


def test_a_failed_build_is_not_kept(engine: Engine) -> None:
    kept = PerVersion()

    def broken() -> Any:
        raise RuntimeError("database hiccup")

    with read_session(engine) as session:
        with pytest.raises(RuntimeError):
            kept.get(session, "part", broken)
        assert kept.get(session, "part", lambda: "fine") == "fine"


def test_summary_and_its_parts_agree_after_a_change(client: TestClient, staff: TestClient) -> None:
    """components.json, status.json and unresolved.json are cut from summary.json's parts."""
    component = make_component(staff, name="OCPP gateway")
    before = client.get("/api/v2/summary.json").json()
    assert before["status"]["indicator"] == "none"
    staff.patch(
        f"/api/v1/components/{component['id']}", json={"status": "major_outage"}
    ).raise_for_status()
    summary = client.get("/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "critical"
    assert client.get("/api/v2/status.json").json()["status"] == summary["status"]
    assert client.get("/api/v2/components.json").json()["components"] == summary["components"]
    assert (
        client.get("/api/v2/incidents/unresolved.json").json()["incidents"] == summary["incidents"]
    )
    assert summary["page"]["updated_at"] != before["page"]["updated_at"]


def test_a_render_never_waits_long_for_another_renders_build(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(per_version, "WAIT_SECONDS", 0.05)
    kept = PerVersion()
    stuck, release = threading.Event(), threading.Event()

    def stuck_build() -> str:
        stuck.set()
        release.wait(5)
        return "late"

    def render() -> None:
        with read_session(engine) as session:
            kept.get(session, "part", stuck_build)

    first = threading.Thread(target=render)
    first.start()
    try:
        assert stuck.wait(5)
        with read_session(engine) as session:
            assert kept.get(session, "part", lambda: "own") == "own"
    finally:
        release.set()
        first.join(5)


def test_a_part_by_topics_outlives_changes_of_other_topics(
    engine: Engine, staff: TestClient
) -> None:
    kept = PerVersion()

    def part(value: int) -> int:
        with read_session(engine) as session:
            return kept.get(session, "part", lambda: value, topics=(data_version.INCIDENTS,))

    made = make_component(staff, name="OCPP gateway")
    assert part(1) == 1
    staff.patch(f"/api/v1/components/{made['id']}", json={"status": "major_outage"})
    assert part(2) == 1  # a status change: the incidents are as they were
    staff.post("/api/v1/incidents", json={"name": "Delays", "body": "Looking."})
    assert part(3) == 3

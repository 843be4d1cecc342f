"""Public latency charts: a real OCPP probe run against the loopback central system is stored in
5-minute buckets; /components/{id}/latency/ draws them as SVG and
/api/v2/components/{id}/latency.json gives the figures, only for probes that opt in."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.models import ComponentStatus, ProbeLatency, ProbeState
from app.probes import latency, service
from app.probes.cli import run_all
from app.probes.outcome import Check, ProbeRun
from peers.csms import CentralSystem
from tests.conftest import FakeClock
from tests.probes.helpers import ocpp_probe_table, probes
from tests.web.test_pages import one


@pytest.fixture(scope="module")
def measured() -> ProbeRun:
    """One real run of an OCPP 1.6J probe with its propagation check (shared: it's the same
    measurement whichever test stores it)."""
    with CentralSystem() as csms:
        (run,) = asyncio.run(run_all(probes(ocpp_probe_table(csms))))
    assert run.ok, run.evidence()
    return run


def store(
    engine: Engine, settings: Settings, clock: FakeClock, run: ProbeRun, *, public: bool,
    at: list[timedelta],
) -> str:  # fmt: skip
    """Record the run as the probe's result at each offset from now; the component's id."""
    table: dict[str, Any] = {
        **ocpp_probe_table_stub(), "public_latency": public
    }  # fmt: skip
    (probe,) = probes(table)
    start = clock()
    with unit_of_work(engine) as session:
        service.sync_states(session, [probe], now=start)
    for offset in at:
        with unit_of_work(engine) as session:
            service.record_run(session, probe, run, settings=settings, now=start + offset)
    with unit_of_work(engine) as session:
        state = session.get(ProbeState, probe.name)
        assert state is not None and state.component_id
        return state.component_id


def ocpp_probe_table_stub() -> dict[str, Any]:
    """The probe's definition (its peer is gone by now: only the stored timings matter)."""
    return {
        "name": "ocpp-backend",
        "kind": "ocpp16",
        "component": "Cloud Services (OCPP)",
        "url": "ws://127.0.0.1:9/ocpp",
        "charge_point_ids": ["PHAROS-PROBE-1"],
    }


def test_public_probe_is_charted_and_its_figures_served(
    client: TestClient, engine: Engine, settings: Settings, clock: FakeClock, measured: ProbeRun
) -> None:
    offsets = [timedelta(0), timedelta(minutes=1), timedelta(minutes=20)]
    component_id = store(engine, settings, clock, measured, public=True, at=offsets)
    clock.advance(minutes=21)
    response_ms = max(
        c.latency_ms for c in measured.checks if c.name != "propagation" and c.latency_ms
    )
    lag_ms = max(c.latency_ms for c in measured.checks if c.name == "propagation" and c.latency_ms)

    body = client.get(f"/api/v2/components/{component_id}/latency.json").json()
    assert (body["window"], body["step_seconds"], body["time_zone"]) == ("24h", 300, "Europe/Oslo")
    series = {s["series"]: s["points"] for s in body["series"]}
    assert [p["figures"]["count"] for p in series["response"]] == [2, 1]
    first = series["response"][0]["figures"]
    assert first["max_ms"] == round(response_ms, 1)
    assert first["avg_ms"] == round(response_ms, 1)
    assert abs(first["p95_ms"] - response_ms) <= response_ms * 0.075 + 0.5
    assert [p["figures"]["count"] for p in series["lag"]] == [2, 1]
    assert series["lag"][0]["figures"]["max_ms"] == round(lag_ms, 1)
    assert series["response"][0]["at"].endswith("+02:00")  # the page's zone, summer time
    week = client.get(f"/api/v2/components/{component_id}/latency.json?window=7d").json()
    assert week["step_seconds"] == 3600
    assert sum(p["figures"]["count"] for p in week["series"][0]["points"]) == 3

    page = client.get(f"/components/{component_id}/latency/")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    charts = soup.select("svg.latency-chart")
    assert len(charts) == 3
    day = charts[0]
    assert day["role"] == "img"
    labelled = str(day["aria-labelledby"]).split()
    assert one(day, "title")["id"] == labelled[0]
    assert "Response time and processing lag of Cloud Services (OCPP)" in one(day, "title").text
    assert "Response time: average" in one(day, "desc").text
    assert "Processing lag: average" in one(day, "desc").text
    assert {tuple(p["class"]) for p in day.select("path")} == {
        ("line", "response", "avg"), ("line", "response", "p95"),
        ("line", "lag", "avg"), ("line", "lag", "p95"),
    }  # fmt: skip
    # Two runs 19 minutes apart: the line breaks between them (two moves, no line across).
    assert one(day, "path.response.avg")["d"].count("M") == 2
    axis = [t.text for t in day.select("text.axis")]
    assert (axis[0] == "0 ms" and "ms" in axis[4]) or axis[4].endswith(" s")
    figures = soup.select("table.latency-figures")[0]
    assert [th.text for th in figures.select("tbody th")] == ["Response time", "Processing lag"]


def test_a_probe_that_does_not_opt_in_is_not_public(
    client: TestClient, engine: Engine, settings: Settings, clock: FakeClock, measured: ProbeRun
) -> None:
    component_id = store(engine, settings, clock, measured, public=False, at=[timedelta(0)])
    with unit_of_work(engine) as session:  # measured all the same: opting in shows them
        assert session.exec(select(ProbeLatency)).all()
    assert client.get(f"/api/v2/components/{component_id}/latency.json").status_code == 404
    assert client.get(f"/components/{component_id}/latency/").status_code == 404
    assert client.get("/api/v2/components/nosuch/latency.json?window=30d").status_code == 404
    bad = client.get(f"/api/v2/components/{component_id}/latency.json?window=1y")
    assert bad.status_code == 422


def synthetic(ms: float, lag: float | None = None) -> ProbeRun:
    checks = [Check("connect", "cp", True, ms)]
    if lag is not None:
        checks.append(Check("propagation", "cp", True, lag))
    return ProbeRun(probe="p", status=ComponentStatus.operational, checks=checks)


def test_buckets_merge_and_the_95th_percentile_is_close(engine: Engine, clock: FakeClock) -> None:
    now = clock()
    with unit_of_work(engine) as session:
        for ms in range(1, 201):  # 1..200 ms within one bucket
            latency.record(session, "p", synthetic(float(ms), lag=ms * 10.0), now=now)
    with unit_of_work(engine) as session:
        rows = session.exec(select(ProbeLatency)).all()
        assert len(rows) == 2  # one bucket per series: compact
        response, lag = latency.series_of(session, ["p"], latency.WINDOWS["24h"], now=now)
    (point,) = response.points
    assert (point.count, point.min_ms, point.max_ms, point.avg_ms) == (200, 1.0, 200.0, 100.5)
    assert abs(point.quantile(0.95) - 190) <= 190 * 0.075
    assert abs(lag.points[0].quantile(0.95) - 1900) <= 1900 * 0.075


def test_old_buckets_are_pruned(engine: Engine, clock: FakeClock) -> None:
    now = clock()
    with unit_of_work(engine) as session:
        latency.record(session, "p", synthetic(5.0), now=now - timedelta(days=40))
        latency.record(session, "p", synthetic(5.0), now=now - timedelta(days=2))
    with unit_of_work(engine) as session:
        service.prune_results(session, now=now)
    with unit_of_work(engine) as session:
        kept = session.exec(select(ProbeLatency)).all()
    assert [row.at for row in kept] == [latency.bucket_of(now - timedelta(days=2))]


def test_the_front_page_links_a_charted_component(
    client: TestClient, engine: Engine, settings: Settings, clock: FakeClock, measured: ProbeRun
) -> None:
    component_id = store(engine, settings, clock, measured, public=True, at=[timedelta(0)])
    soup = BeautifulSoup(client.get("/").text, "html.parser")
    row = one(soup, f'li.component[data-component-id="{component_id}"]')
    assert one(row, "a.latency-link")["href"] == f"components/{component_id}/latency/"

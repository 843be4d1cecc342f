"""Probes staff manage over the API: create, change, pause, resume, run now, delete; audited;
the probes file wins a name; the runner takes managed probes in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.config import Settings
from app.db import unit_of_work
from app.errors import Conflict
from app.models import AuditEvent, ProbeDefinition
from app.probes import definitions
from app.probes.runner import ProbeRunner
from peers.csms import CentralSystem
from tests.conftest import FakeClock


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    with CentralSystem(version="2.0.1", credentials=("PHAROS-PROBE-1", "s3cret")) as system:
        yield system


def table(csms: CentralSystem, **overrides: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": "csms-201",
        "kind": "ocpp201",
        "component": "Cloud Services (OCPP 2.0.1)",
        "url": csms.ws_url,
        "charge_point_ids": ["PHAROS-PROBE-1"],
        "username": "PHAROS-PROBE-1",
        "password": "s3cret",
        "timeout": "3s",
        "propagation": {
            "url": csms.http_url + "/chargers/{charge_point_id}",
            "json_pointer": "/last_event/tech_info",
            "timeout": "2s",
            "poll_every": "50ms",
        },
    }
    found.update(overrides)
    return found


def actions(engine: Engine) -> list[str]:
    with unit_of_work(engine) as session:
        stmt = select(AuditEvent).where(col(AuditEvent.action).startswith("probe."))
        return [e.action for e in session.exec(stmt.order_by(col(AuditEvent.at)))]


def test_staff_manage_a_probe_end_to_end(
    csms: CentralSystem, staff: TestClient, engine: Engine
) -> None:
    created = staff.post("/api/v1/probes", json=table(csms))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["source"], body["paused"]) == ("managed", False)
    assert body["definition"]["password"] == "********"  # never shown back
    assert body["component_id"]

    ran = staff.post("/api/v1/probes/csms-201/run")
    assert ran.status_code == 200, ran.text
    assert ran.json()["recorded"] is True
    result = ran.json()["result"]
    assert result["status"] == "operational", result
    assert result["manual"] is True
    assert [c["name"] for c in result["checks"]][:2] == ["connect", "boot_notification"]
    shown = staff.get("/api/v1/probes/csms-201").json()
    assert shown["last_status"] == "operational" and len(shown["recent_results"]) == 1

    # A change keeps the stored password when the masked one comes back.
    changed = staff.patch(
        "/api/v1/probes/csms-201", json={"interval": "30s", "password": "********"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["definition"]["interval"] == "30s"
    assert staff.post("/api/v1/probes/csms-201/run").json()["result"]["status"] == "operational"

    paused = staff.post("/api/v1/probes/csms-201/pause").json()
    assert paused["paused"] is True
    while_paused = staff.post("/api/v1/probes/csms-201/run").json()
    assert while_paused["recorded"] is False  # shown, not counted
    assert len(staff.get("/api/v1/probes/csms-201").json()["recent_results"]) == 2
    assert staff.post("/api/v1/probes/csms-201/resume").json()["paused"] is False

    assert staff.delete("/api/v1/probes/csms-201").status_code == 204
    assert staff.get("/api/v1/probes/csms-201").status_code == 404
    assert actions(engine) == [
        "probe.created",
        "probe.run",
        "probe.updated",
        "probe.run",
        "probe.paused",
        "probe.run",
        "probe.resumed",
        "probe.deleted",
    ]


def test_bad_tables_are_refused_with_the_field_named(
    csms: CentralSystem, staff: TestClient
) -> None:
    bad = staff.post("/api/v1/probes", json=table(csms, interval="soon"))
    assert bad.status_code == 422
    assert "interval" in bad.json()["detail"]
    unknown = staff.post("/api/v1/probes", json=table(csms, kind="ocpp99"))
    assert unknown.status_code == 422
    assert staff.post("/api/v1/probes", json=table(csms)).status_code == 201
    assert staff.post("/api/v1/probes", json=table(csms)).status_code == 409
    renamed = staff.patch("/api/v1/probes/csms-201", json={"name": "other"})
    assert renamed.status_code == 422
    assert staff.post("/api/v1/probes/nope/pause").status_code == 404


def test_the_probes_file_wins_a_name(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    with unit_of_work(engine) as session:
        definitions.create(session, table(csms), settings=settings, actor="t", now=clock())
    probes_file = tmp_path / "probes.toml"
    probes_file.write_text(
        '[[probe]]\nname = "csms-201"\nkind = "http"\ncomponent = "API"\nurl = "http://x/"\n'
    )
    with_file = settings.model_copy(update={"probes_file": str(probes_file)})
    with unit_of_work(engine) as session:
        with pytest.raises(Conflict, match="probes file"):
            definitions.set_paused(
                session, "csms-201", True, settings=with_file, actor="t", now=clock()
            )
        source, _, shadowed, shown = definitions.describe(session, with_file)["csms-201"]
        assert (source, shadowed) == ("file", True)
        assert shown is not None and shown["kind"] == "http"
        (probe,) = definitions.runnable(session, with_file)
        assert probe.kind == "http"


def test_the_runner_takes_managed_probes_in_and_drops_paused_ones(
    csms: CentralSystem, settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    runner = ProbeRunner(engine, settings, [], clock=clock)
    assert runner.probes == {}
    with unit_of_work(engine) as session:
        definitions.create(session, table(csms), settings=settings, actor="t", now=clock())
    assert runner.refresh() == []
    assert list(runner.probes) == ["csms-201"] and runner.tick == 1.0
    with unit_of_work(engine) as session:
        definitions.update(
            session, "csms-201", {"interval": "2s"}, settings=settings, actor="t", now=clock()
        )
    runner.refresh()
    assert runner.probes["csms-201"].interval == 2.0 and runner.tick == 0.5
    with unit_of_work(engine) as session:
        definitions.set_paused(session, "csms-201", True, settings=settings, actor="t", now=clock())
        stored = session.get(ProbeDefinition, "csms-201")
        assert stored is not None and stored.config["password"] == "s3cret"
    assert runner.refresh() == ["csms-201"] and runner.probes == {}

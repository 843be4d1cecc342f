"""The dashboard shows what the probes see and the incidents they drive."""

from __future__ import annotations

from bs4 import Tag
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import unit_of_work
from app.models import ComponentStatus, ProbeState, UserRole
from app.probes import service as probes
from app.probes.config import parse_probes
from app.probes.outcome import Check, ProbeRun
from tests.admin.conftest import SignIn, soup
from tests.conftest import FakeClock

PROBES = parse_probes(
    {
        "probe": [
            {
                "name": "ocpp-backend",
                "kind": "ocpp16",
                "component": "Cloud Services (OCPP)",
                "url": "ws://127.0.0.1:9/ocpp",
                "charge_point_ids": ["PHAROS-PROBE-1"],
                "failures_to_open": 3,
            },
            {"name": "api", "kind": "http", "component": "Status API", "url": "http://x/"},
            {"name": "queue", "kind": "http", "component": "Status API", "url": "http://y/"},
        ]
    }
)


def _run(
    name: str, status: ComponentStatus, *, latency_ms: float | None = None, error: str | None = None
) -> ProbeRun:
    """One run with a single check, as a probe reports it."""
    ok = status == ComponentStatus.operational
    step = Check("connect", "t", ok=ok, latency_ms=latency_ms, error_class=error)
    return ProbeRun(probe=name, status=status, checks=[step], problem=None if ok else "down")


def _cells(row: Tag) -> dict[str, str]:
    """A table row's cells by column heading."""
    table = row.find_parent("table")
    assert isinstance(table, Tag)
    heads = [th.get_text(strip=True) for th in table.select("thead th")]
    return dict(zip(heads, (td.get_text(" ", strip=True) for td in row.select("td")), strict=True))


def test_dashboard_shows_probe_states_and_their_incident(
    signed_in: SignIn, engine: Engine, settings: Settings, clock: FakeClock
) -> None:
    ocpp, api, _queue = PROBES
    with unit_of_work(engine) as session:
        probes.sync_states(session, PROBES, now=clock())
        for _ in range(3):  # three failures in a row open an incident
            failed = _run(ocpp.name, ComponentStatus.major_outage, error="connect_refused")
            probes.record_run(session, ocpp, failed, settings=settings, now=clock())
        healthy = _run(api.name, ComponentStatus.operational, latency_ms=42.4)
        probes.record_run(session, api, healthy, settings=settings, now=clock())
        state = session.get(ProbeState, ocpp.name)
        assert state is not None and state.incident_id is not None
        incident_id = state.incident_id

    page = soup(signed_in(UserRole.viewer).get("/admin/"))
    section = page.find("section", attrs={"aria-labelledby": "probes-h"})
    assert isinstance(section, Tag)
    rows = {str(r.td.get_text(strip=True)) if r.td else "": r for r in section.select("tbody tr")}
    assert list(rows) == ["api", "ocpp-backend", "queue"]

    failing = _cells(rows["ocpp-backend"])
    assert failing["Component"] == "Cloud Services (OCPP)"
    assert failing["State"].startswith("Failing: Major Outage")
    assert "Since 2025-09-07 11:00 CEST" in failing["State"]  # the page's zone (Europe/Oslo)
    assert failing["In a row"] == "3 failures, 0 successes"
    assert failing["Last run"] == "2025-09-07 11:00 CEST"
    assert failing["Errors"] == "connect_refused"
    assert failing["Incident"].startswith("Cloud Services (OCPP) unavailable")
    assert "Investigating" in failing["Incident"]
    link = rows["ocpp-backend"].find("a")
    assert isinstance(link, Tag) and link["href"] == f"/admin/incidents/{incident_id}"

    ok = _cells(rows["api"])
    assert ok["Component"] == "Status API"
    assert ok["State"] == "Healthy"
    assert ok["In a row"] == "0 failures, 1 success"
    assert (ok["Latency"], ok["Errors"], ok["Incident"]) == ("42 ms", "none", "none")

    idle = _cells(rows["queue"])
    assert (idle["State"], idle["Last run"], idle["Latency"]) == ("Not run yet", "never", "none")


def test_dashboard_says_when_no_probes_are_configured(signed_in: SignIn) -> None:
    page = soup(signed_in(UserRole.viewer).get("/admin/"))
    section = page.find("section", attrs={"aria-labelledby": "probes-h"})
    assert isinstance(section, Tag)
    assert section.find("table") is None
    assert "No probes yet: add one, or see PHAROS_PROBES_FILE" in section.get_text()

"""The admin UI's probes: staff create, change, pause, resume, run now and delete a probe
against a real central system; the file's probes are read-only; a backend certificate about
to expire warns on the dashboard and in /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.config import Settings
from app.db import unit_of_work
from app.models import AuditEvent, ComponentStatus, ProbeState, UserRole
from app.probes import service as probes
from app.probes.config import parse_probes
from app.probes.outcome import Check, ProbeRun
from peers.csms import CentralSystem
from tests.admin.conftest import SignIn, csrf, post_form, soup
from tests.conftest import FakeClock
from tests.probes.helpers import run_beside_a_write, slow_endpoint


@pytest.fixture
def csms() -> Iterator[CentralSystem]:
    with CentralSystem(version="2.1") as system:
        yield system


def form(csms: CentralSystem, **overrides: str) -> dict[str, str]:
    found = {
        "_form": "probe",
        "name": "csms-21",
        "kind": "ocpp21",
        "component": "Cloud Services (OCPP 2.1)",
        "url": csms.ws_url,
        "charge_point_ids": "PHAROS-PROBE-1, PHAROS-PROBE-2",
        "interval": "15s",
        "timeout": "3s",
        "extra": (
            "failures_to_open = 4\n[propagation]\n"
            f'url = "{csms.http_url}/chargers/{{charge_point_id}}"\n'
            'json_pointer = "/last_event/tech_info"\ntimeout = "2s"\npoll_every = "50ms"\n'
        ),
    }
    found.update(overrides)
    return found


def test_editors_manage_a_probe_from_the_admin_ui(
    signed_in: SignIn, csms: CentralSystem, engine: Engine
) -> None:
    editor = signed_in(UserRole.editor)
    created = post_form(editor, "/admin/probes", form(csms), follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/probes/csms-21?done=saved"
    listed = soup(editor.get("/admin/probes"))
    (row,) = listed.select("table.probe-list tbody tr")
    assert "csms-21" in row.get_text() and "Here" in row.get_text()

    ran = post_form(editor, "/admin/probes/csms-21/run", {}, follow_redirects=True)
    page = soup(ran)
    assert "Probe run" in page.get_text()
    first = page.select_one(".probe-result")
    assert first is not None
    assert "Operational" in first.get_text() and "run now" in first.get_text()
    steps = [tr.td.get_text() for tr in first.select("table.steps tbody tr") if tr.td]
    assert steps[:5] == [
        "connect",
        "boot_notification",
        "heartbeat",
        "status_notification",
        "notify_event",
    ]

    # The edit form shows the stored definition, the extra fields as TOML.
    extra = page.select_one("textarea[name=extra]")
    assert extra is not None and "failures_to_open = 4" in extra.get_text()
    assert "[propagation]" in extra.get_text()
    saved = post_form(
        editor,
        "/admin/probes/csms-21",
        {**form(csms, interval="30s"), "name": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text

    paused = soup(post_form(editor, "/admin/probes/csms-21/pause", {}, follow_redirects=True))
    assert "Probe paused" in paused.get_text()
    assert paused.select_one(".probe-state") is not None
    assert "Paused" in str(paused.select_one(".probe-state"))
    resumed = soup(post_form(editor, "/admin/probes/csms-21/resume", {}, follow_redirects=True))
    assert "Probe resumed" in resumed.get_text()

    gone = post_form(editor, "/admin/probes/csms-21/delete", {}, follow_redirects=False)
    assert gone.headers["location"] == "/admin/probes?done=deleted"
    assert editor.get("/admin/probes/csms-21").status_code == 404
    with unit_of_work(engine) as session:
        stmt = select(AuditEvent.action).where(col(AuditEvent.action).startswith("probe."))
        assert list(session.exec(stmt.order_by(col(AuditEvent.at)))) == [
            "probe.created",
            "probe.run",
            "probe.updated",
            "probe.paused",
            "probe.resumed",
            "probe.deleted",
        ]


def test_a_bad_probe_form_says_why_and_keeps_what_was_typed(
    signed_in: SignIn, csms: CentralSystem
) -> None:
    editor = signed_in(UserRole.editor)
    refused = post_form(editor, "/admin/probes", form(csms, url="http://not-a-websocket/"))
    assert refused.status_code == 422
    page = soup(refused)
    assert "ws:// or wss://" in page.get_text()
    url = page.select_one("input[name=url]")
    assert url is not None and url["value"] == "http://not-a-websocket/"
    broken = post_form(editor, "/admin/probes", form(csms, extra="[propagation"))
    assert broken.status_code == 422 and "not valid TOML" in soup(broken).get_text()
    viewer = signed_in(UserRole.viewer)
    assert soup(viewer.get("/admin/probes")).select_one("form[action='/admin/probes']") is None
    assert post_form(viewer, "/admin/probes", form(csms)).status_code == 403


def test_a_backend_certificate_about_to_expire_warns_staff_not_the_public(
    signed_in: SignIn,
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    client: TestClient,
) -> None:
    (probe,) = parse_probes(
        {
            "probe": [
                {
                    "name": "tls-backend",
                    "kind": "ocpp201",
                    "component": "Cloud Services (OCPP)",
                    "url": "wss://csms.example.com/ocpp",
                    "charge_point_ids": ["PHAROS-PROBE-1"],
                }
            ]
        }
    )
    expires = clock.now + timedelta(days=9)
    run = ProbeRun(
        probe.name,
        ComponentStatus.operational,
        [Check("connect", "PHAROS-PROBE-1", True, 12.0)],
        cert={"not_after": expires.isoformat(), "subject": "commonName=csms.example.com"},
    )
    with unit_of_work(engine) as session:
        probes.sync_states(session, [probe], now=clock())
        probes.record_run(session, probe, run, settings=settings, now=clock())
        state = session.get(ProbeState, probe.name)
        assert state is not None and state.cert_expires_at == expires
    dashboard = soup(signed_in(UserRole.viewer).get("/admin/"))
    warning = dashboard.select_one(".cert-warnings")
    assert warning is not None and "tls-backend" in warning.get_text()
    assert "day" in warning.get_text()
    metrics = client.get("/metrics").text
    assert 'pharos_probe_cert_expiring{probe="tls-backend"} 1.0' in metrics
    (line,) = [x for x in metrics.splitlines() if x.startswith("pharos_probe_cert_expiry_")]
    assert float(line.rsplit(" ", 1)[1]) == expires.timestamp()
    public = client.get("/api/v2/incidents.json").json()["incidents"]
    assert public == []  # staff are warned; the public page says nothing


def test_staff_opt_a_probe_into_the_public_latency_chart(
    signed_in: SignIn, csms: CentralSystem, engine: Engine, client: TestClient
) -> None:
    editor = signed_in(UserRole.editor)
    fields = form(csms, public_latency="on")
    created = post_form(editor, "/admin/probes", fields, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = soup(post_form(editor, "/admin/probes/csms-21/run", {}, follow_redirects=True))
    box = page.select_one("input[name=public_latency]")
    assert box is not None and box.has_attr("checked")
    extra = page.select_one("textarea[name=extra]")
    assert extra is not None and "public_latency" not in extra.get_text()
    with unit_of_work(engine) as session:
        state = session.get(ProbeState, "csms-21")
        assert state is not None and state.public_latency and state.component_id
        component_id = state.component_id
    body = client.get(f"/api/v2/components/{component_id}/latency.json").json()
    counts = {s["series"]: [p["figures"]["count"] for p in s["points"]] for s in body["series"]}
    assert counts == {"response": [1], "lag": [1]}  # an OCPP 2.1 probe with propagation

    fields.pop("public_latency")
    saved = post_form(editor, "/admin/probes/csms-21", {**fields, "name": ""})
    assert saved.status_code in (200, 303), saved.text
    post_form(editor, "/admin/probes/csms-21/run", {}, follow_redirects=True)
    with unit_of_work(engine) as session:
        state = session.get(ProbeState, "csms-21")
        assert state is not None and not state.public_latency
    # The cached answer is rendered again at once: the flip moved the data version.
    assert client.get(f"/api/v2/components/{component_id}/latency.json").status_code == 404
    assert client.get(f"/components/{component_id}/latency/").status_code == 404


def test_a_probe_run_now_holds_up_no_other_writer(
    signed_in: SignIn, staff: TestClient, clock: FakeClock
) -> None:
    """Reading the staff session opened the request's write transaction, and the run happened
    inside it: on SQLite every writer waited for the probed endpoint; on PostgreSQL the
    session's row stayed locked from the same user's next page (tests/probes/test_run_now.py
    has the staff API's)."""
    editor = signed_in(UserRole.editor)
    with slow_endpoint() as url:
        probe = {"name": "api", "kind": "http", "component": "Charging API", "url": url}
        assert staff.post("/api/v1/probes", json=probe).status_code == 201
        token = csrf(editor)  # read now: the run's own request must be the one to note the visit
        ran, took = run_beside_a_write(
            lambda: editor.post(
                "/admin/probes/api/run", data={"csrf_token": token}, follow_redirects=False
            ),
            lambda: post_form(
                editor, "/admin/components/new", {"name": "OCPP"}, follow_redirects=False
            ),
            clock,
        )
    assert ran.status_code == 303, ran.text
    assert took < 1.0, f"an editor's write waited {took:.1f} s for a probe run now"
    shown = staff.get("/api/v1/probes/api").json()
    assert [r["status"] for r in shown["recent_results"]] == ["degraded_performance"]

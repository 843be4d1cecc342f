"""`pharos import statuspage` against a Statuspage stand-in on loopback: the imported page
equals the source, a re-run changes nothing, a dry run writes nothing, rate limits and a
failure midway are survived."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import data_version
from app.config import Settings
from app.models import (
    AuditEvent,
    Component,
    ComponentDay,
    ComponentStatus,
    ComponentStatusChange,
    Delivery,
    ImportKey,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    OutboxEvent,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
)
from app.publishing.incident_files import parse_file
from app.publishing.incidents_dump import dump_incidents
from peers.statuspage import API_KEY, Behaviour, serve
from peers.statuspage_data import (
    API,
    APP,
    NOW,
    OCPP,
    PAGE_ID,
    POSTMORTEM,
    FakePage,
    build_page,
    ts,
    update,
)
from tests.conftest import FakeClock
from tests.importers.helpers import (
    assert_same_component,
    assert_same_incident,
    count,
    run_import,
    source_v2,
)

TABLES = (
    Component,
    Incident,
    IncidentUpdate,
    ComponentStatusChange,
    ComponentDay,
    ImportKey,
    Subscriber,
    IncidentTemplate,
    AuditEvent,
)


@pytest.fixture
def page() -> FakePage:
    """The source page's data (tests may change it between runs)."""
    return build_page()


@pytest.fixture
def behaviour() -> Behaviour:
    """What the fake Statuspage does beyond answering."""
    return Behaviour()


@pytest.fixture
def source(page: FakePage, behaviour: Behaviour) -> Iterator[str]:
    """The fake Statuspage's base URL."""
    with serve(page, behaviour) as url:
        yield url


@pytest.fixture
def now(clock: FakeClock) -> FakeClock:
    """The clock, at the source page's now."""
    clock.set(NOW)
    return clock


@pytest.fixture
def local(settings: Settings) -> Settings:
    """Settings that let the test's loopback webhook receivers subscribe."""
    return settings.model_copy(update={"webhook_allow_private": True})


def table_counts(engine: Engine) -> dict[str, int]:
    return {model.__name__: count(engine, model) for model in TABLES}


def test_the_imported_page_equals_the_source(
    engine: Engine,
    source: str,
    local: Settings,
    now: FakeClock,
    client: TestClient,
    behaviour: Behaviour,
) -> None:
    waits: list[float] = []
    report = run_import(engine, source, local, now, waits)
    assert report.error is None, report.lines()
    c = report.counts
    assert (c[("group", "created")], c[("component", "created")]) == (1, 4)
    assert (c[("incident", "created")], c[("maintenance", "created")]) == (11, 2)
    assert (c[("template", "created")], c[("template", "skipped")]) == (1, 1)
    assert (c[("subscriber", "created")], c[("subscriber", "skipped")]) == (3, 2)
    assert sum("channel not available yet" in s for s in report.skipped) == 2  # sms, slack app
    with Session(engine) as session:
        mail = session.exec(select(Subscriber).where(Subscriber.url == "mailto:driver@example.com"))
        (imported,) = mail.all()
        assert (imported.email, imported.status) == ("driver@example.com", SubscriberStatus.active)
        assert imported.confirmed_at is not None
    # Every list was paged through (2 a page here): 13 incidents in 7 pages.
    pages = [q for path, q in behaviour.log if path == f"/v1/pages/{PAGE_ID}/incidents"]
    assert len(pages) == 7 and "page=7" in pages[-1] and "limit=2" in pages[-1]
    # The key went in the Authorization header of every request, and nowhere in the report.
    assert set(behaviour.auth) == {f"OAuth {API_KEY}"}
    assert API_KEY not in "\n".join(report.lines())

    ours = {c["id"]: c for c in client.get("/api/v2/components.json").json()["components"]}
    theirs = source_v2(source, "/api/v2/components.json")["components"]
    assert set(ours) == {c["id"] for c in theirs}
    for component in theirs:
        assert_same_component(ours[component["id"]], component)
    mine = {i["id"]: i for i in client.get("/api/v2/incidents.json").json()["incidents"]}
    theirs = source_v2(source, "/api/v2/incidents.json")["incidents"]
    assert set(mine) == {i["id"] for i in theirs} and len(theirs) == 11
    for incident in theirs:
        assert_same_incident(mine[incident["id"]], incident)
    body = client.get("/api/v2/scheduled-maintenances.json").json()
    mine = {m["id"]: m for m in body["scheduled_maintenances"]}
    theirs = source_v2(source, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    assert set(mine) == {m["id"] for m in theirs}
    for maintenance in theirs:
        assert_same_incident(mine[maintenance["id"]], maintenance)
    # The pages show it: the postmortem first on the incident's page, the history, the bars.
    page_html = client.get("/incidents/inc0seed0001/").text
    assert "Timeline of Events" in page_html and "This incident has been resolved." in page_html
    for path in ("/", "/history/", "/uptime/", "/maintenance/mnt1done0001/"):
        assert client.get(path).status_code == 200, path
    summary = client.get("/api/v2/summary.json").json()
    assert summary["status"] == source_v2(source, "/api/v2/summary.json")["status"]

    # Uptime from the replayed status log: the source's outages to the second, its % to 0.01.
    days = {
        cid: {
            d["date"]: d for d in client.get(f"/api/v2/components/{cid}/uptime.json").json()["days"]
        }
        for cid in (OCPP, API)
    }
    assert days[OCPP]["2025-09-07"]["seconds"]["partial_outage"] == 23 * 60
    assert days[OCPP]["2025-08-20"]["seconds"]["degraded_performance"] == 40 * 60
    assert days[OCPP]["2025-08-31"]["seconds"]["under_maintenance"] == 2 * 3600
    assert days[API]["2025-08-20"]["seconds"]["major_outage"] == 42 * 60
    assert days[API]["2025-07-15"]["seconds"]["partial_outage"] == 3600
    for cid, expected in ((OCPP, 99.9947), (API, 99.9537), (APP, 100.0)):
        figures = client.get(f"/api/v2/components/{cid}/uptime.json").json()
        assert figures["uptime_percent"] == pytest.approx(expected, abs=0.01), cid
    assert len(report.uptime) == 3 and all(line.endswith("same") for line in report.uptime)

    with Session(engine) as session:
        seed = session.get(Incident, "inc0seed0001")
        assert seed is not None and seed.status == IncidentStatus.postmortem
        assert seed.postmortem_published_body == POSTMORTEM.replace("\r\n", "\n")
        assert seed.postmortem_published_at is not None
        draft = session.get(Incident, "inc4backdate")
        assert draft is not None and draft.postmortem_published_at is None
        assert draft.postmortem_body == "## What happened\n\nA draft, not published."
        assert all(i.backfilled for i in session.exec(select(Incident)))
        assert not any(u.deliver_notifications for u in session.exec(select(IncidentUpdate)))
        statuses = {c.id: c.status for c in session.exec(select(Component))}
        assert statuses[API] == statuses[APP] == ComponentStatus.degraded_performance
        assert statuses[OCPP] == ComponentStatus.operational
        hooks = list(
            session.exec(
                select(Subscriber)
                .where(Subscriber.channel == SubscriberChannel.webhook)
                .order_by(col(Subscriber.url))
            )
        )
        assert [(h.url, h.status, h.component_ids) for h in hooks] == [
            ("http://127.0.0.1:9/flaky", SubscriberStatus.quarantined, None),
            ("http://127.0.0.1:9/statuspage-hook", SubscriberStatus.active, [OCPP]),
        ]
        assert {s.secret for s in report.secrets} == {h.secret for h in hooks}
        template = session.exec(select(IncidentTemplate)).one()
        assert (template.name, template.components) == ("API down", {API: "major_outage"})
    # History notifies no one.
    assert count(engine, OutboxEvent) == count(engine, Delivery) == 0


def test_a_second_run_changes_nothing(
    engine: Engine, source: str, local: Settings, now: FakeClock
) -> None:
    first = run_import(engine, source, local, now, [])
    assert first.error is None and first.changed
    before, version = table_counts(engine), data_version.read(engine)
    again = run_import(engine, source, local, now, [])
    assert again.error is None and not again.changed, again.actions
    assert table_counts(engine) == before
    assert data_version.read(engine) == version
    assert again.counts[("incident", "unchanged")] == 11
    assert again.secrets == []  # a webhook keeps the secret it was given


def test_a_dry_run_writes_nothing(
    engine: Engine, source: str, local: Settings, now: FakeClock
) -> None:
    before, version = table_counts(engine), data_version.read(engine)
    report = run_import(engine, source, local, now, [], dry_run=True)
    assert report.error is None and report.dry_run
    assert "create incident 'Delays in processing charging events' (postmortem, 3 updates)" in (
        report.actions
    )
    assert table_counts(engine) == before
    assert data_version.read(engine) == version
    assert "dry run" in report.lines()[0]


def test_rate_limits_are_waited_out(
    engine: Engine, source: str, local: Settings, now: FakeClock, behaviour: Behaviour
) -> None:
    behaviour.before = {
        f"/v1/pages/{PAGE_ID}/components": [429, 420],
        f"/v1/pages/{PAGE_ID}/incidents": [420],
    }
    waits: list[float] = []
    report = run_import(engine, source, local, now, waits)
    assert report.error is None
    assert waits == [1.0, 4.0, 2.0]  # Retry-After: 1; then back-off without one
    assert report.counts[("incident", "created")] == 11


def test_a_failure_midway_keeps_what_was_imported_and_a_rerun_finishes(
    engine: Engine,
    source: str,
    local: Settings,
    now: FakeClock,
    behaviour: Behaviour,
    client: TestClient,
) -> None:
    behaviour.failing = {f"/v1/pages/{PAGE_ID}/incidents/inc4backdate/postmortem"}
    broken = run_import(engine, source, local, now, [])
    assert broken.error is not None and "HTTP 500" in broken.error
    assert "run the import again" in "\n".join(broken.lines())
    with Session(engine) as session:
        imported = list(session.exec(select(Incident)))
        # The oldest incidents came over whole; none of those after the failure did.
        assert sorted(i.id for i in imported) == [f"incsmall000{n}" for n in range(1, 7)]
        for incident in imported:
            updates = session.exec(
                select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id)
            ).all()
            assert len(updates) == 2
    behaviour.failing.clear()
    finished = run_import(engine, source, local, now, [])
    assert finished.error is None
    assert finished.counts[("incident", "unchanged")] == 6
    assert finished.counts[("incident", "created")] == 5
    mine = {i["id"]: i for i in client.get("/api/v2/incidents.json").json()["incidents"]}
    for incident in source_v2(source, "/api/v2/incidents.json")["incidents"]:
        assert_same_incident(mine[incident["id"]], incident)


def test_a_rerun_follows_what_changed_on_the_source(
    engine: Engine,
    source: str,
    local: Settings,
    now: FakeClock,
    page: FakePage,
    client: TestClient,
) -> None:
    assert run_import(engine, source, local, now, []).error is None
    with Session(engine) as session:
        logged = len(
            session.exec(
                select(ComponentStatusChange).where(ComponentStatusChange.component_id == API)
            ).all()
        )
    # On Statuspage, the open incident is resolved half an hour ago.
    when = NOW - timedelta(minutes=30)
    incident = page.find("inc5open0001")
    incident["incident_updates"].insert(
        0,
        update(
            "inc5open0001",
            "upd5c0000001",
            "resolved",
            "Fixed.",
            when,
            [(API, "degraded_performance", "operational")],
        ),
    )
    incident |= {"status": "resolved", "resolved_at": ts(when), "updated_at": ts(when)}
    for c in page.components:
        if c["id"] == API:
            c |= {"status": "operational", "updated_at": ts(when)}
    # ... and an old incident was deleted there.
    page.incidents.remove(page.find("incsmall0001"))
    report = run_import(engine, source, local, now, [])
    assert report.error is None
    assert (
        "1 incident(s) imported earlier are no longer on the source and were kept: incsmall0001"
        in report.notes
    )
    assert count(engine, Incident) == 13
    assert (
        report.counts[("incident", "updated")] == 1 and report.counts[("incident", "created")] == 0
    )
    mine = client.get("/api/v2/incidents.json").json()["incidents"]
    ours = next(i for i in mine if i["id"] == "inc5open0001")
    theirs = next(
        i
        for i in source_v2(source, "/api/v2/incidents.json")["incidents"]
        if i["id"] == "inc5open0001"
    )
    assert_same_incident(ours, theirs)
    assert len(ours["incident_updates"]) == 3
    with Session(engine) as session:
        api = session.get(Component, API)
        assert api is not None and api.status == ComponentStatus.operational
        changes = session.exec(
            select(ComponentStatusChange).where(ComponentStatusChange.component_id == API)
        ).all()
        assert len(changes) == logged + 1  # appended, not replayed


def test_pharos_dump_writes_the_imported_history(
    engine: Engine, source: str, local: Settings, now: FakeClock, tmp_path: Path
) -> None:
    assert run_import(engine, source, local, now, []).error is None
    with Session(engine, expire_on_commit=False) as session:
        written = dump_incidents(session, tmp_path, tz=local.tz)
    assert len(written) == 11  # incidents, not maintenances
    seed = next(p for p in written if "delays-in-processing-charging-events" in p.name)
    parsed = parse_file(seed, seed.read_text(encoding="utf-8"), tz=local.tz, now=NOW)
    assert parsed.title == "Delays in processing charging events"
    assert [u.status for u in parsed.updates] == [
        IncidentStatus.investigating,
        IncidentStatus.monitoring,
        IncidentStatus.resolved,
    ]
    assert parsed.components == {"Charging cloud - OCPP 1.6J": ComponentStatus.partial_outage}
    assert parsed.postmortem.startswith("## Timeline of Events")


def test_no_transaction_is_held_across_requests(
    engine: Engine,
    source: str,
    local: Settings,
    now: FakeClock,
    behaviour: Behaviour,
    database_url: str,
) -> None:
    """On SQLite any transaction holds the write lock: `pharos serve` beside an import must
    still be able to write while the import waits for Statuspage."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's")
    outcomes: list[str] = []

    def write_now() -> None:
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0.5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            outcomes.append("written")
        except sqlite3.OperationalError as exc:
            outcomes.append(str(exc))
        finally:
            conn.close()

    base = f"/v1/pages/{PAGE_ID}"
    for path in (
        f"{base}/incidents",
        f"{base}/incidents/inc0seed0001/postmortem",
        f"{base}/incident_templates",
        f"{base}/subscribers",
        f"{base}/components/{OCPP}/uptime",
    ):
        behaviour.hooks[path] = write_now
    assert run_import(engine, source, local, now, []).error is None
    assert outcomes and set(outcomes) == {"written"}


def test_webhooks_to_private_addresses_are_refused_like_any_subscription(
    engine: Engine, source: str, settings: Settings, now: FakeClock
) -> None:
    assert not settings.webhook_allow_private
    report = run_import(engine, source, settings, now, [])
    assert report.error is None
    refused = [s for s in report.skipped if "webhook URL refused" in s]
    assert len(refused) == 2 and "127.0.0.1" in refused[0]
    assert report.secrets == []
    with Session(engine) as session:  # only the email subscriber came over
        assert [s.channel for s in session.exec(select(Subscriber))] == [SubscriberChannel.email]

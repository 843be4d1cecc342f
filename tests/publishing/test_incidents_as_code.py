"""Incidents as code: the file format, `pharos sync` and `pharos dump`."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.db import create_db_engine, migrate, unit_of_work
from app.models import AuditEvent, Incident, IncidentStatus, IncidentUpdate, OutboxEvent
from app.publishing.incident_files import FileError, parse_file
from app.publishing.incidents_as_code import SyncReport, sync_incidents
from app.publishing.incidents_dump import dump_incidents
from tests.conftest import FakeClock, make_component, open_incident

EXAMPLE = Path(__file__).resolve().parents[2] / "incidents"
LATER = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)

OPEN_FILE = """\
---
title: Remote start fails for some chargers
components:
  OCPP 1.6J cloud: partial_outage
updates:
- status: investigating
  at: 2025-09-30 10:00
  body: Remote start commands time out. We are investigating.
---
"""


@pytest.fixture
def later(clock: FakeClock) -> FakeClock:
    """The clock, after every time in the example files."""
    clock.set(LATER)
    return clock


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped incidents/ folder."""
    target = tmp_path / "incidents"
    shutil.copytree(EXAMPLE, target)
    return target


def sync(
    engine: Engine, folder: Path, settings: Settings, clock: FakeClock, **kw: bool
) -> SyncReport:
    """One sync as `pharos sync` runs it: one unit of work, rolled back for a dry run."""
    dry_run = kw.pop("dry_run", False)
    kw.setdefault("create_components", True)
    with unit_of_work(engine, dry_run=dry_run) as session:
        return sync_incidents(session, folder, settings=settings, clock=clock, **kw)


def count(engine: Engine, model: type[AuditEvent] | type[OutboxEvent] | type[Incident]) -> int:
    with unit_of_work(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def event_types(engine: Engine) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(OutboxEvent.type).order_by(col(OutboxEvent.id))))


def the_incident(engine: Engine, slug: str) -> Incident:
    with unit_of_work(engine) as session:
        return session.exec(select(Incident).where(Incident.source_slug == slug)).one()


# --- the format ---------------------------------------------------------------------------


BAD_FILES = [
    ("---\ntitle: x\n", 3, "front matter", "no closing"),
    ("---\ntitle: [x\n---\n", 2, "front matter", "invalid YAML"),
    ("---\nupdates: []\n---\n", 2, "title", "missing"),
    ("---\ntitle: x\ncolour: red\nupdates: []\n---\n", 3, "colour", "unknown field"),
    ("---\ntitle: x\nupdates: []\n---\n", 3, "updates", "expected a list"),
    (
        "---\ntitle: x\nupdates:\n- status: fixed\n  at: 2025-09-07 11:00\n  body: b\n---\n",
        4,
        "updates[1].status",
        "'fixed' is not one of",
    ),
    (
        "---\ntitle: x\nupdates:\n- status: resolved\n  at: 7 Sept\n  body: b\n---\n",
        5,
        "updates[1].at",
        "not a time",
    ),
    (
        "---\ntitle: x\nupdates:\n- status: identified\n  at: 2025-09-07 11:00\n  body: b\n"
        "- status: resolved\n  at: 2025-09-07 10:00\n  body: b\n---\n",
        8,
        "updates[2].at",
        "earlier than the update before",
    ),
    (
        "---\ntitle: x\ncomponents:\n  OCPP: broken\nupdates:\n- status: resolved\n"
        "  at: 2025-09-07 11:00\n  body: b\n---\n",
        4,
        "components.OCPP",
        "not one of",
    ),
    (
        "---\ntitle: x\nupdates:\n- status: monitoring\n  at: 2025-09-07 11:00\n  body: b\n"
        "postmortem:\n  published_at: 2025-09-08 10:00\n---\nSomething broke.\n",
        8,
        "postmortem.published_at",
        "isn't resolved",
    ),
    (
        "---\ntitle: x\nupdates:\n- status: investigating\n  at: 2030-01-01 11:00\n"
        "  body: b\n---\n",
        5,
        "updates[1].at",
        "in the future",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD_FILES)
def test_invalid_files_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "2025-09-07-bad.md"
    with pytest.raises(FileError) as caught:
        parse_file(path, text, tz=Settings().tz, now=LATER)
    assert str(caught.value).startswith(f"{path}:{line}: {field}: ")
    assert message in caught.value.message


def test_times_without_offset_are_in_the_page_time_zone(tmp_path: Path) -> None:
    text = (
        "---\ntitle: x\nresolved_at: 2025-09-07T12:39:00Z\nupdates:\n"
        "- status: investigating\n  at: 2025-09-07 11:12\n  body: b\n---\n"
    )
    settings = Settings(timezone="Europe/Oslo")
    parsed = parse_file(tmp_path / "x.md", text, tz=settings.tz, now=LATER)
    assert parsed.updates[0].at == datetime(2025, 9, 7, 9, 12, tzinfo=UTC)  # 11:12 CEST
    assert parsed.started_at == parsed.updates[0].at
    # resolved_at without a resolved update adds one
    assert [u.status for u in parsed.updates] == ["investigating", "resolved"]
    assert parsed.resolved_at == datetime(2025, 9, 7, 12, 39, tzinfo=UTC)


def test_the_shipped_example_is_a_full_postmortem() -> None:
    (path,) = EXAMPLE.glob("*.md")
    parsed = parse_file(path, path.read_text(), tz=Settings(timezone="Europe/Oslo").tz, now=LATER)
    for heading in ("Timeline", "Impact", "Root cause", "What went well", "What did not"):
        assert f"## {heading}" in parsed.postmortem
    assert "## Action items" in parsed.postmortem
    assert parsed.postmortem_published_at is not None
    assert parsed.updates[-1].status == IncidentStatus.resolved


# --- sync ---------------------------------------------------------------------------------


def test_first_import_of_history_is_backfilled_and_silent(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path, staff: TestClient
) -> None:
    staff.post("/api/v1/subscribers", json={"url": "https://hooks.example.com/status"})
    report = sync(engine, folder, settings, later)
    assert report.errors == [] and report.changed
    incident = the_incident(engine, "2025-09-07-ocpp-message-processing")
    assert incident.backfilled and incident.status == IncidentStatus.postmortem
    assert incident.started_at == datetime(2025, 9, 7, 7, 14, tzinfo=UTC)
    assert incident.resolved_at == datetime(2025, 9, 7, 10, 39, tzinfo=UTC)
    assert incident.impact == "major"
    assert event_types(engine) == []  # no webhook for history
    page = staff.get("/api/v2/incidents.json").json()["incidents"][0]
    assert [u["status"] for u in page["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert page["incident_updates"][-1]["display_at"] == "2025-09-07T11:12:00.000+02:00"


def test_sync_twice_changes_nothing(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    sync(engine, folder, settings, later)
    audits, updated = (
        count(engine, AuditEvent),
        the_incident(engine, "2025-09-07-ocpp-message-processing").updated_at,
    )
    again = sync(engine, folder, settings, later)
    assert not again.changed and again.errors == []
    assert count(engine, AuditEvent) == audits
    assert the_incident(engine, "2025-09-07-ocpp-message-processing").updated_at == updated


def test_an_edit_changes_the_incident_without_notifying(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    sync(engine, folder, settings, later)
    path = next(folder.glob("*.md"))
    text = path.read_text()
    text = text.replace(
        "title: Delays in processing charging events", "title: Delayed charging events"
    )
    text = text.replace("at: 2025-09-07 11:20:00+02:00", "at: 2025-09-07 11:21:00+02:00")
    text = text.replace("## Impact", "## Impact on customers")
    path.write_text(text)
    report = sync(engine, folder, settings, later)
    assert report.errors == []
    actions = report.outcomes[0].actions
    assert "edit update 2: display_at" in actions and "republish postmortem" in actions
    incident = the_incident(engine, path.stem)
    assert incident.name == "Delayed charging events"
    assert "## Impact on customers" in (incident.postmortem_published_body or "")
    with unit_of_work(engine) as session:
        times = session.exec(
            select(IncidentUpdate.display_at).where(IncidentUpdate.incident_id == incident.id)
        ).all()
    assert datetime(2025, 9, 7, 9, 21, tzinfo=UTC) in times
    assert event_types(engine) == []  # corrections are not news


def test_a_live_incident_notifies_on_import_and_on_each_new_update(
    engine: Engine, settings: Settings, later: FakeClock, tmp_path: Path
) -> None:
    folder = tmp_path / "live"
    folder.mkdir()
    path = folder / "2025-09-30-remote-start.md"
    path.write_text(OPEN_FILE)
    assert sync(engine, folder, settings, later).errors == []
    assert event_types(engine) == ["component.status_changed", "incident.created"]
    assert not the_incident(engine, path.stem).backfilled
    sync(engine, folder, settings, later)
    assert len(event_types(engine)) == 2  # nothing new, nothing sent
    text = OPEN_FILE.removesuffix("---\n") + (
        "- status: resolved\n  at: 2025-09-30 11:00\n  body: Fixed.\n---\n"
    )
    path.write_text(text)
    report = sync(engine, folder, settings, later)
    assert report.outcomes[0].actions == ["add update 2 (resolved, notifies subscribers)"]
    assert event_types(engine)[2:] == ["component.status_changed", "incident.resolved"]
    assert the_incident(engine, path.stem).status == IncidentStatus.resolved


def test_dry_run_prints_the_plan_and_writes_nothing(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    report = sync(engine, folder, settings, later, dry_run=True)
    assert report.outcomes[0].actions == [
        "create component 'OCPP 1.6J cloud'",
        "create incident 'Delays in processing charging events' with 4 updates "
        "(backfilled, no notifications)",
        "publish postmortem",
    ]
    assert count(engine, Incident) == 0 and count(engine, AuditEvent) == 0


def test_unknown_components_are_refused_unless_created(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    report = sync(engine, folder, settings, later, create_components=False)
    path = next(folder.glob("*.md"))
    assert report.errors == [
        f"{path}:4: components.OCPP 1.6J cloud: no component has this name; "
        "create it, or sync with --create-components"
    ]
    assert count(engine, Incident) == 0


def test_a_bad_file_writes_nothing_of_itself_and_the_others_still_apply(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    sync(engine, folder, settings, later)
    path = next(folder.glob("*.md"))
    audits = count(engine, AuditEvent)
    # A body edit that would apply, then a status change that can't: the whole file is refused.
    text = path.read_text().replace("We are investigating.", "We are looking into it.")
    path.write_text(text.replace("status: identified", "status: monitoring"))
    (folder / "2025-09-30-remote-start.md").write_text(OPEN_FILE)
    report = sync(engine, folder, settings, later)
    assert report.errors == [
        f"{path}:11: updates[2].status: was 'identified'; an update's status can't change, "
        "add an update"
    ]
    assert count(engine, Incident) == 2  # the good file was imported
    incident = the_incident(engine, path.stem)
    with unit_of_work(engine) as session:
        bodies = session.exec(
            select(IncidentUpdate.body).where(IncidentUpdate.incident_id == incident.id)
        ).all()
    assert not any("looking into it" in b for b in bodies)
    assert count(engine, AuditEvent) > audits  # only the good file's writes


def test_removing_an_update_is_refused(
    engine: Engine, settings: Settings, later: FakeClock, folder: Path
) -> None:
    sync(engine, folder, settings, later)
    path = next(folder.glob("*.md"))
    text = path.read_text()
    start = text.index("- status: identified")
    path.write_text(text[:start] + text[text.index("- status: monitoring") :])
    (error,) = sync(engine, folder, settings, later).errors
    assert error.startswith(f"{path}:8: updates: the incident has 4 updates, the file 3")


# --- dump and the command -----------------------------------------------------------------


def test_dump_sync_into_a_fresh_database_dump_is_byte_identical(
    staff: TestClient, engine: Engine, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    group = make_component(staff, name="Charging cloud", group=True)
    ocpp = make_component(staff, name="OCPP 1.6J", group_id=group["id"])
    app_api = make_component(staff, name="App API")
    first = open_incident(
        staff,
        name='Delays: "charging" events, part 1',
        body="Line one.\n\nLine two: with a colon.",
        components={ocpp["id"]: "major_outage", app_api["id"]: "degraded_performance"},
        impact_override="critical",
    )
    clock.advance(minutes=20)
    staff.post(
        f"/api/v1/incidents/{first['id']}/updates",
        json={"status": "monitoring", "body": "yes", "components": {ocpp["id"]: "partial_outage"}},
    )
    clock.advance(minutes=30)
    staff.post(
        f"/api/v1/incidents/{first['id']}/updates", json={"status": "resolved", "body": "Ok."}
    )
    staff.put(f"/api/v1/incidents/{first['id']}/postmortem", json={"body": "## Root cause\n\nA."})
    staff.post(f"/api/v1/incidents/{first['id']}/postmortem/publish")
    clock.advance(hours=1)
    same_minute = clock.now.replace(microsecond=0).isoformat()
    second = open_incident(
        staff, name='Delays: "charging" events, part 1', body="Again?", display_at=same_minute
    )
    # Two updates shown at the same time keep their order through the round trip.
    staff.post(
        f"/api/v1/incidents/{second['id']}/updates",
        json={"status": "identified", "body": "Same minute.", "display_at": same_minute},
    )
    staff.put(f"/api/v1/incidents/{second['id']}/postmortem", json={"body": "Draft only."})

    one, two = tmp_path / "one", tmp_path / "two"
    with unit_of_work(engine) as session:
        written = dump_incidents(session, one, tz=settings.tz)
    assert sorted(p.name for p in written) == [
        "2025-09-07-delays-charging-events-part-1-2.md",
        "2025-09-07-delays-charging-events-part-1.md",
    ]
    # The dumped incidents are now kept in those files: syncing them back changes nothing.
    assert not sync(engine, one, settings, clock).changed

    fresh = create_db_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(fresh)
    try:
        report = sync(fresh, one, settings, clock)
        assert report.errors == []
        with unit_of_work(fresh) as session:
            dump_incidents(session, two, tz=settings.tz)
    finally:
        fresh.dispose()
    for path in one.iterdir():
        assert (two / path.name).read_bytes() == path.read_bytes()
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    text = (one / "2025-09-07-delays-charging-events-part-1.md").read_text()
    assert "  Charging cloud - OCPP 1.6J: major_outage\n" in text
    assert "impact: critical\n" in text and "\n## Root cause\n\nA.\n" in text


def test_check_command_exit_codes(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHAROS_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("PHAROS_TIMEZONE", "Europe/Oslo")
    runner = CliRunner()
    ok = runner.invoke(cli, ["sync", "--check", str(folder)])
    assert ok.exit_code == 0, ok.output
    assert "1 incident file(s) OK, 0 with problems" in ok.output
    assert not (tmp_path / "unused.db").exists()  # --check needs no database
    (folder / "2025-09-09-broken.md").write_text("---\ntitle: x\nupdates: nope\n---\n")
    bad = runner.invoke(cli, ["sync", "--check", str(folder)])
    assert bad.exit_code == 1
    assert f"{folder / '2025-09-09-broken.md'}:3: updates: expected a list" in bad.output


def test_sync_and_dump_commands(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHAROS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PHAROS_TIMEZONE", "Europe/Oslo")
    runner = CliRunner()
    plan = runner.invoke(cli, ["sync", "--dry-run", "--create-components", str(folder)])
    assert plan.exit_code == 0, plan.output
    assert "create incident 'Delays in processing charging events'" in plan.output
    assert "dry run: nothing was written" in plan.output
    assert runner.invoke(cli, ["sync", "--create-components", str(folder)]).exit_code == 0
    again = runner.invoke(cli, ["sync", str(folder)])
    assert again.exit_code == 0 and "nothing to change" in again.output
    out = tmp_path / "out"
    assert runner.invoke(cli, ["dump", str(out)]).exit_code == 0
    (example,) = EXAMPLE.glob("*.md")
    assert (out / example.name).read_bytes() == example.read_bytes()  # the example is canonical
    (folder / "2025-09-09-broken.md").write_text("---\ntitle: x\nupdates: nope\n---\n")
    broken = runner.invoke(cli, ["sync", str(folder)])
    assert broken.exit_code == 1
    assert "2025-09-09-broken.md:3: updates: expected a list" in broken.output

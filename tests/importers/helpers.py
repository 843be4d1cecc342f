"""Running the importer against the fake Statuspage, and comparing the two pages' answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.config import Settings
from app.importers.job import import_statuspage
from app.importers.public import import_public_page
from app.importers.report import ImportReport
from app.importers.statuspage_api import StatuspageClient
from peers.statuspage import API_KEY
from peers.statuspage_data import PAGE_ID
from tests.conftest import FakeClock

COMPONENT_FIELDS = (
    "id",
    "name",
    "status",
    "position",
    "description",
    "showcase",
    "group",
    "group_id",
    "only_show_if_degraded",
    "start_date",
)
INCIDENT_FIELDS = ("id", "name", "status", "impact")
INCIDENT_TIMES = ("created_at", "updated_at", "monitoring_at", "resolved_at", "started_at")
UPDATE_TIMES = ("created_at", "updated_at", "display_at")


def run_import(
    engine: Engine,
    url: str,
    settings: Settings,
    clock: FakeClock,
    waits: list[float],
    *,
    dry_run: bool = False,
) -> ImportReport:
    """One import through the management API, small pages, sleeping on a fake clock."""
    client = StatuspageClient(
        f"{url}/v1", api_key=API_KEY, max_rate=0, page_size=2, sleep=waits.append
    )
    with client:
        return import_statuspage(
            engine, client, page_id=PAGE_ID, settings=settings, clock=clock, dry_run=dry_run
        )


def run_public(
    engine: Engine, url: str, settings: Settings, clock: FakeClock, waits: list[float]
) -> ImportReport:
    """One import of what the public page shows."""
    with StatuspageClient(url, max_rate=0, sleep=waits.append) as client:
        return import_public_page(engine, client, settings=settings, clock=clock)


def count(engine: Engine, model: Any) -> int:
    """Rows of one table."""
    with Session(engine) as session:
        found: int = session.exec(select(func.count()).select_from(model)).one()
        return found


def same_time(ours: str | None, theirs: str | None) -> bool:
    """Two JSON times name the same instant (offsets and precision may differ)."""
    if ours is None or theirs is None:
        return ours is theirs
    return datetime.fromisoformat(ours) == datetime.fromisoformat(theirs)


def source_v2(url: str, path: str) -> Any:
    """The fake Statuspage's public answer."""
    return httpx.get(f"{url}{path}", timeout=10).json()


def assert_same_component(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The fields Pharos keeps of a component are equal."""
    for name in COMPONENT_FIELDS:
        assert ours[name] == theirs[name], (theirs["id"], name, ours[name], theirs[name])
    for name in ("created_at", "updated_at"):
        assert same_time(ours[name], theirs[name]), (theirs["id"], name)
    if theirs["group"]:
        assert sorted(ours["components"]) == sorted(theirs["components"])


def assert_same_incident(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The fields Pharos keeps of an incident, every update and component included, are equal."""
    where = theirs["id"]
    for name in INCIDENT_FIELDS:
        assert ours[name] == theirs[name], (where, name, ours[name], theirs[name])
    times = INCIDENT_TIMES + (
        ("scheduled_for", "scheduled_until") if "scheduled_for" in theirs else ()
    )
    for name in times:
        assert same_time(ours[name], theirs[name]), (where, name, ours[name], theirs[name])
    assert [u["id"] for u in ours["incident_updates"]] == [
        u["id"] for u in theirs["incident_updates"]
    ]
    for mine, source in zip(ours["incident_updates"], theirs["incident_updates"], strict=True):
        assert (mine["status"], mine["body"], mine["incident_id"]) == (
            source["status"],
            source["body"],
            source["incident_id"],
        ), (where, source["id"])
        for name in UPDATE_TIMES:
            assert same_time(mine[name], source[name]), (where, source["id"], name)
        assert (mine["affected_components"] or []) == (source["affected_components"] or [])
    assert {c["id"] for c in ours["components"]} == {c["id"] for c in theirs["components"]}

"""`pharos import statuspage --public`: what a public page shows, without a key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import Incident, IncidentUpdate, OutboxEvent
from peers.statuspage import Behaviour, serve
from peers.statuspage_data import NOW, FakePage, build_page
from tests.conftest import FakeClock
from tests.importers.helpers import (
    assert_same_component,
    assert_same_incident,
    count,
    run_public,
    source_v2,
)


@pytest.fixture
def page() -> FakePage:
    """The source page's data."""
    return build_page()


@pytest.fixture
def behaviour() -> Behaviour:
    """A page whose incidents.json holds only the 3 newest incidents."""
    return Behaviour(recent=3)


@pytest.fixture
def source(page: FakePage, behaviour: Behaviour) -> Iterator[str]:
    """The fake public page's URL."""
    with serve(page, behaviour) as url:
        yield url


def test_a_public_page_comes_over_as_far_back_as_it_reaches(
    engine: Engine,
    source: str,
    settings: Settings,
    clock: FakeClock,
    client: TestClient,
    page: FakePage,
    behaviour: Behaviour,
) -> None:
    clock.set(NOW)
    report = run_public(engine, source, settings, clock, [])
    assert report.error is None, report.lines()
    assert report.source == "statuspage:zaptecpage01"
    assert not any(path.startswith("/v1/") for path, _ in behaviour.log)  # no key, no v1
    c = report.counts
    assert (c[("component", "created")], c[("group", "created")]) == (4, 1)
    assert (c[("incident", "created")], c[("maintenance", "created")]) == (11, 2)
    text = "\n".join(report.lines())
    assert "8 older incident(s) came from the history feed" in text
    assert "subscribers, incident templates, postmortems" in text

    ours = {c["id"]: c for c in client.get("/api/v2/components.json").json()["components"]}
    for component in source_v2(source, "/api/v2/components.json")["components"]:
        assert_same_component(ours[component["id"]], component)
    mine = {i["id"]: i for i in client.get("/api/v2/incidents.json").json()["incidents"]}
    recent = source_v2(source, "/api/v2/incidents.json")["incidents"]
    assert len(recent) == 3
    for incident in recent:
        assert_same_incident(mine[incident["id"]], incident)
    # Older incidents from the feed: names, statuses, bodies and times to the minute.
    older = [i for i in page.incidents if not i["scheduled_for"]][3:]
    with Session(engine) as session:
        for source_incident in older:
            imported = session.get(Incident, source_incident["id"])
            assert imported is not None and imported.name == source_incident["name"]
            updates = session.exec(
                select(IncidentUpdate)
                .where(IncidentUpdate.incident_id == imported.id)
                .order_by(col(IncidentUpdate.display_at).desc())
            ).all()
            assert [(u.status.value, u.body) for u in updates] == [
                (u["status"], u["body"]) for u in source_incident["incident_updates"]
            ]
            for u, s in zip(updates, source_incident["incident_updates"], strict=True):
                shown = datetime.fromisoformat(s["display_at"]).replace(second=0, microsecond=0)
                assert u.display_at == shown
    assert count(engine, OutboxEvent) == 0
    # Run again: nothing changes.
    again = run_public(engine, source, settings, clock, [])
    assert again.error is None and not again.changed, again.actions

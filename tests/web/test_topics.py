"""Topics of public data: which a write touches, and which answers the render cache keeps
through it (app.data_version, app.web.topics).

The end-to-end test reads every public answer through the render cache, makes one change of
each kind, and checks that exactly the answers showing its topics were rendered again and that
every answer, kept or not, is byte for byte what an app without the cache renders then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app import brand, data_version
from app.clock import get_clock
from app.config import Settings
from app.db import unit_of_work
from app.main import create_app
from app.uptime import service as uptime
from app.web import front_page, topics
from app.web.render_cache import RenderCache
from tests.conftest import FakeClock, make_component, open_incident

STATUS, INCIDENTS, COMPONENTS, OTHER = (
    data_version.STATUS,
    data_version.INCIDENTS,
    data_version.COMPONENTS,
    data_version.OTHER,
)


class Heard:
    """What the commits of this process said they changed."""

    def __init__(self, engine: Engine) -> None:
        self.commits: list[tuple[int, frozenset[str]]] = []
        self.stop = data_version.subscribe_topics(
            engine, lambda version, changed: self.commits.append((version, changed))
        )

    def last(self) -> frozenset[str]:
        assert self.commits, "no commit changed public data"
        return self.commits[-1][1]


@pytest.fixture
def heard(engine: Engine) -> Iterator[Heard]:
    heard = Heard(engine)
    yield heard
    heard.stop()


def test_each_kind_of_write_names_its_topics(
    staff: TestClient, engine: Engine, heard: Heard
) -> None:
    group = make_component(staff, name="Europe", group=True)
    assert heard.last() == {STATUS, COMPONENTS}  # a new component
    charger = make_component(staff, name="OCPP gateway", group_id=group["id"])
    staff.patch(f"/api/v1/components/{charger['id']}", json={"status": "major_outage"})
    assert heard.last() == {STATUS}  # its status, log and rollups: nothing else
    staff.patch(f"/api/v1/components/{charger['id']}", json={"name": "OCPP gateway (EU)"})
    assert heard.last() == {STATUS, COMPONENTS}
    staff.patch(
        f"/api/v1/components/{charger['id']}",
        json={"name": "OCPP gateway (Europe)", "status": "operational"},
    )
    assert heard.last() == {STATUS, COMPONENTS}
    open_incident(staff, name="Delays", body="Looking.")
    assert heard.last() == {INCIDENTS}
    open_incident(staff, name="Outage", body="Down.", components={charger["id"]: "major_outage"})
    assert heard.last() == {INCIDENTS, STATUS}

    versions = data_version.read_versions(engine)
    version = heard.commits[-1][0]
    assert versions.version == version
    assert versions.changed[INCIDENTS] == versions.changed[STATUS] == version
    # the name changed two commits before
    assert versions.changed[COMPONENTS] == heard.commits[-3][0]


def test_a_private_setting_that_changes_the_public_view_is_other(
    engine: Engine, heard: Heard
) -> None:
    with unit_of_work(engine) as session:
        data_version.changes_public_view(session)
        session.commit()
    assert heard.last() == {OTHER}


def test_answers_named_by_their_topics() -> None:
    assert topics.shown_by("/history/") == frozenset({INCIDENTS, COMPONENTS, OTHER})
    assert topics.shown_by("/history/3/") == topics.shown_by("/history/2025-09/")
    assert topics.shown_by("/incidents/abc123/") == topics.shown_by("/maintenance/abc123/")
    # what shows a status, an uptime figure or a last change time shows everything
    for path in ("/", "/uptime/", "/api/v2/incidents.json", "/history.atom", "/badge.svg"):
        assert topics.shown_by(path) is None
    assert topics.shown_by("/history/x/") is None


@pytest.fixture
def uncached(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    """The same page rendered afresh every time (no render cache), on the same clock."""
    app = create_app(settings.model_copy(update={"render_cache": False}))
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        yield client


class StillClock(FakeClock):
    """The test's clock, held still while a kept answer and a fresh one are compared."""

    def __init__(self) -> None:
        super().__init__()
        self.still = False

    def __call__(self) -> datetime:
        return self.now if self.still else super().__call__()


@pytest.fixture
def clock() -> StillClock:
    return StillClock()


def addresses(incident: str, maintenance: str, component: str) -> list[str]:
    return [
        "/",
        "/history/",
        "/history/2/",
        "/history/2025-09/",
        f"/incidents/{incident}/",
        f"/maintenance/{maintenance}/",
        "/de/history/",
        "/uptime/",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/history.rss",
        "/history.atom",
        "/updates.rss",
        "/de/updates.atom",
        f"/components/{component}/history.atom",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/badge.svg",
    ]


def rendered(app: FastAPI, client: TestClient, paths: list[str]) -> dict[str, Any]:
    """Each address's cached render (read twice first, so each is worth re-rendering)."""
    for path in paths:
        for _ in range(2):
            assert client.get(path).status_code == 200, path
    cache: RenderCache = app.state.render_cache
    return {path: cache.entries[cache_key(path)].rendered for path in paths}


def cache_key(path: str) -> str:
    return path  # the page's default language has no prefix; /de/... keeps its own


def test_a_change_re_renders_exactly_the_answers_that_show_it(
    app: FastAPI,
    client: TestClient,
    staff: TestClient,
    uncached: TestClient,
    clock: StillClock,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bars per group, as on a large page (summed figures, their past days kept).
    monkeypatch.setattr(front_page, "FRONT_PAGE_BARS", 1)
    group = make_component(staff, name="Europe", group=True)
    charger = make_component(staff, name="OCPP gateway", group_id=group["id"])
    other = make_component(staff, name="Payments")
    incident = open_incident(
        staff, name="Delays", body="Looking.", components={charger["id"]: "partial_outage"}
    )
    staff.post(
        f"/api/v1/incidents/{incident['id']}/updates",
        json={"status": "resolved", "body": "Fixed.", "components": {charger["id"]: "operational"}},
    ).raise_for_status()
    maintenance = staff.post(
        "/api/v1/maintenances",
        json={"name": "Upgrade", "body": "Soon.", "scheduled_for": "2025-09-20T02:00:00Z",
              "scheduled_until": "2025-09-20T03:00:00Z"},
    ).json()  # fmt: skip
    clock.advance(hours=2)
    paths = addresses(incident["id"], maintenance["id"], charger["id"])
    kept_on_status = {p for p in paths if topics.shown_by(p.removeprefix("/de")) is not None}
    assert kept_on_status == {
        "/history/",
        "/history/2/",
        "/history/2025-09/",
        f"/incidents/{incident['id']}/",
        f"/maintenance/{maintenance['id']}/",
        "/de/history/",
    }

    def change_and_compare(change: Any, kept: set[str]) -> None:
        before = rendered(app, client, paths)
        change()
        assert client.portal is not None
        client.portal.call(app.state.render_cache.refresh)  # as the refresher would
        clock.still = True
        try:
            for path in paths:
                answer = client.get(path)
                assert answer.headers["x-pharos-cache"] == "hit", path
                uptime.STORED.rows.clear()  # a cold render: nothing kept in this process
                uptime.PAST.rows.clear()
                uncached.app.state.per_version.clear()  # type: ignore[attr-defined]
                fresh = uncached.get(path)
                assert answer.content == fresh.content, path
                assert answer.headers.get("last-modified") == fresh.headers.get("last-modified"), (
                    path
                )
            after = {p: app.state.render_cache.entries[cache_key(p)].rendered for p in paths}
        finally:
            clock.still = False
        assert {p for p in paths if after[p] is before[p]} == kept
        clock.advance(minutes=5)

    # A status change (the common one: probes, the fleet) keeps the incident pages.
    for component in (other, charger):  # the charger is on the incidents: its new status too
        change_and_compare(
            lambda c=component: staff.patch(
                f"/api/v1/components/{c['id']}", json={"status": "degraded_performance"}
            ).raise_for_status(),
            kept_on_status,
        )
    # A name shows on the incidents that affected the component: everything is rendered.
    change_and_compare(
        lambda: staff.patch(
            f"/api/v1/components/{charger['id']}", json={"name": "OCPP gateway (EU)"}
        ).raise_for_status(),
        set(),
    )
    # An incident update, and the status it sets.
    change_and_compare(
        lambda: staff.post(
            f"/api/v1/incidents/{incident['id']}/updates",
            json={"status": "resolved", "body": "Fixed for good."},
        ).raise_for_status(),
        set(),
    )

    # The brand (written elsewhere: the admin screen), seen by the next read of each answer.
    def rebrand() -> None:
        with unit_of_work(engine) as session:
            form = brand.BrandForm(title="Zaptec Charging Status")
            brand.save(session, form, actor="test", now=clock())
            session.commit()

    change_and_compare(rebrand, set())

"""An incident on many components is written in bulk: the number of SQL statements that
opening or resolving it takes does not grow with the number of components, and what it writes
(status log, rollups, one component event per change for the subscribers of that component)
is what one change at a time wrote."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import data_version
from app.components import events as component_events
from app.components import service as components
from app.components.present import present_components
from app.components.schemas import ComponentCreate, ComponentUpdate
from app.config import Settings
from app.db import READ_ONLY, unit_of_work
from app.incidents import events as incident_events
from app.incidents import prepared, read
from app.incidents import service as incidents
from app.incidents.present import present_incident
from app.incidents.schemas import IncidentCreate, UpdateCreate
from app.models import (
    AffectedComponent,
    Component,
    ComponentDay,
    ComponentStatus,
    ComponentStatusChange,
    Delivery,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    OutboxEvent,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
)
from tests.conftest import make_component

T0 = datetime(2025, 9, 7, 9, 0, tzinfo=UTC)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile (an executemany counts once)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _subscriber(channel: SubscriberChannel, component_ids: list[str] | None) -> Subscriber:
    return Subscriber(
        channel=channel,
        url=f"https://hooks.example.com/{secrets.token_hex(4)}",
        email="ops@example.com" if channel == SubscriberChannel.email else None,
        secret="whsec_test",
        component_ids=component_ids,
        status=SubscriberStatus.active,
        unsubscribe_token=secrets.token_urlsafe(16),
        created_at=T0,
        updated_at=T0,
    )


def _page(engine: Engine, n: int) -> tuple[list[str], dict[str, str]]:
    """n components (two of them in a group), and subscribers: a webhook for everything, a
    webhook for the first component, a webhook for the group, an email for everything."""
    with unit_of_work(engine) as session:
        group = Component(name="Group", is_group=True, position=1, created_at=T0, updated_at=T0)
        session.add(group)
        session.flush()
        rows = [
            Component(
                name=f"Charger {i:03d}",
                position=i + 2,
                group_id=group.id if i >= n - 2 else None,
                created_at=T0,
                updated_at=T0,
            )
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        ids = [c.id for c in rows]
        subscribers = {
            "all": _subscriber(SubscriberChannel.webhook, None),
            "first": _subscriber(SubscriberChannel.webhook, [ids[0]]),
            "group": _subscriber(SubscriberChannel.webhook, [group.id]),
            "email": _subscriber(SubscriberChannel.email, None),
        }
        session.add_all(subscribers.values())
        session.flush()
        return ids, {name: s.id for name, s in subscribers.items()}


def _open_and_resolve(engine: Engine, settings: Settings, n: int) -> dict[str, Any]:
    ids, subscribers = _page(engine, n)
    with statements(engine) as opening, unit_of_work(engine) as session:
        incident = incidents.open_incident(
            session,
            data=IncidentCreate(
                name="Everything",
                body="Down",
                components=dict.fromkeys(ids, ComponentStatus.major_outage),
            ),
            settings=settings,
            actor="test",
            now=T0 + timedelta(hours=1),
        )
        incident_id = incident.id
    with statements(engine) as resolving, unit_of_work(engine) as session:
        incidents.post_update(
            session,
            incident_id,
            data=UpdateCreate(status=IncidentStatus.resolved, body="Back"),
            settings=settings,
            actor="test",
            now=T0 + timedelta(hours=2),
        )
    with Session(engine) as session:
        return {
            "open": len(opening),
            "resolve": len(resolving),
            "ids": ids,
            "subscribers": subscribers,
            "statuses": set(session.exec(select(Component.status).where(~col(Component.is_group)))),
            "log": Counter(
                (c.component_id, c.old_status, c.new_status)
                for c in session.exec(select(ComponentStatusChange))
            ),
            "days": {
                (d.component_id, d.day): (d.operational_us, d.major_outage_us)
                for d in session.exec(select(ComponentDay))
            },
            "deliveries": [
                (subscriber, event_type, payload)
                for subscriber, event_type, payload in session.exec(
                    select(Delivery.subscriber_id, OutboxEvent.type, OutboxEvent.payload)
                    .join(OutboxEvent, col(OutboxEvent.id) == Delivery.event_id)
                    .order_by(col(Delivery.event_id))
                )
            ],
        }


def test_statements_do_not_grow_with_the_components(engine: Engine, settings: Settings) -> None:
    few = _open_and_resolve(engine, settings, 4)
    # Then 60 more components on the same page, their own incident: one change at a time
    # would have taken several statements per component.
    many = _open_and_resolve(engine, settings, 60)
    assert many["open"] == few["open"]
    assert many["resolve"] == few["resolve"]
    assert many["open"] < 40 and many["resolve"] < 40


def test_a_wide_change_writes_what_one_change_at_a_time_did(
    engine: Engine, settings: Settings
) -> None:
    n = 30
    got = _open_and_resolve(engine, settings, n)
    ids, subs = got["ids"], got["subscribers"]
    assert got["statuses"] == {ComponentStatus.operational}
    # Each component: one change out, one back, both in the log.
    down = (ComponentStatus.operational, ComponentStatus.major_outage)
    assert got["log"] == Counter(
        {**{(i, *down): 1 for i in ids}, **{(i, *reversed(down)): 1 for i in ids}}
    )
    # The rollups: an hour operational (created to opened), an hour down (opened to resolved).
    hour = 3600 * 10**6
    assert {cid for cid, _ in got["days"]} == set(ids)
    assert sorted(got["days"].values()) == [(hour, hour)] * n
    heard = Counter((s, t) for s, t, _ in got["deliveries"])
    change = "component.status_changed"
    # Webhooks hear one event per component change; filtered ones only of their components
    # (a group's subscriber of the group's two); email hears the incident, not components.
    assert heard == {
        (subs["all"], change): 2 * n,
        (subs["all"], "incident.created"): 1,
        (subs["all"], "incident.resolved"): 1,
        (subs["first"], change): 2,
        (subs["first"], "incident.created"): 1,
        (subs["first"], "incident.resolved"): 1,
        (subs["group"], change): 4,
        (subs["group"], "incident.created"): 1,
        (subs["group"], "incident.resolved"): 1,
        (subs["email"], "incident.created"): 1,
        (subs["email"], "incident.resolved"): 1,
    }
    # In order: a component's events before the incident event of the same change, in the
    # components' display order; each payload about its own component and change.
    mine = [(t, p) for s, t, p in got["deliveries"] if s == subs["all"]]
    assert [t for t, _ in mine] == (
        [change] * n + ["incident.created"] + [change] * n + ["incident.resolved"]
    )
    opened = [p for t, p in mine[:n]]
    assert [p["component"]["id"] for p in opened] == ids
    assert {p["component_update"]["component_id"] for p in opened} == set(ids)
    assert {p["component_update"]["new_status"] for p in opened} == {"major_outage"}
    assert len({p["component_update"]["id"] for p in opened}) == n
    assert {p["page"]["status_indicator"] for p in opened} == {"critical"}


def test_a_component_event_carries_the_component_as_presented(
    engine: Engine, settings: Settings
) -> None:
    """The events of a wide change write each component directly, not through the API's
    model: exactly what presenting it and keeping Statuspage's webhook keys gives."""
    ids, _ = _page(engine, 3)
    with unit_of_work(engine) as session:
        grouped = session.get_one(Component, ids[-1])
        grouped.description = "Chargers in Oslo"
        session.flush()
        changed = components.change_statuses(
            session,
            [(grouped, ComponentStatus.partial_outage)],
            now=T0 + timedelta(minutes=5),
            tz=settings.tz,
        )
        ((component, change),) = changed
        payload = component_events.component_payload(session, settings, component, change)
        (public,) = present_components([component], page_id=settings.page_id)
        assert payload["component"] == component_events.webhook_component(
            public.model_dump(mode="json")
        )
        assert payload["component"]["group_id"] is not None
        assert payload["component_update"]["id"] == str(change.id)
        logged = session.get_one(ComponentStatusChange, change.id)
        assert (logged.component_id, logged.new_status) == (
            grouped.id,
            ComponentStatus.partial_outage,
        )


def test_a_long_use_case_does_not_hold_the_data_version_row(
    engine: Engine, database_url: str
) -> None:
    """On PostgreSQL another writer goes on while a long use case is still open: the data
    version row is bumped (and locked) only as the use case commits, not from its first write.
    (On SQLite every writing transaction holds the one write lock from its start anyway.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one write lock for the whole database")
    start = data_version.read(engine)
    with unit_of_work(engine) as long_one:
        long_one.add(Component(name="Wide", created_at=T0, updated_at=T0))
        long_one.flush()  # written, not committed: the use case goes on
        with unit_of_work(engine) as other:
            other.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            other.add(Component(name="Other", created_at=T0, updated_at=T0))
        assert data_version.read(engine) == start + 1  # the other writer committed meanwhile
    assert data_version.read(engine) == start + 2


@contextmanager
def another_writer_during(engine: Engine, marker: str, write: Any) -> Iterator[list[bool]]:
    """Run `write()` (its own unit of work, on another thread) as soon as this thread has
    sent a statement containing `marker`, and wait up to 10 s for it to commit. Yields one
    flag per run: whether it committed while this thread's use case was still going on."""
    me = threading.get_ident()
    done: list[bool] = []

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() != me or done or marker not in statement:
            return
        committed = threading.Event()

        def run() -> None:
            write()
            committed.set()

        threading.Thread(target=run, daemon=True).start()
        done.append(committed.wait(10))

    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield done
    finally:
        sa.event.remove(engine, "after_cursor_execute", after)


def _rename(engine: Engine, settings: Settings, component_id: str, name: str) -> Any:
    def write() -> None:
        with unit_of_work(engine) as session:
            components.update_component(
                session,
                component_id,
                data=ComponentUpdate(name=name),
                settings=settings,
                actor="other",
                now=T0 + timedelta(minutes=30),
            )

    return write


def test_another_writer_goes_on_while_a_wide_incident_opens(
    engine: Engine, settings: Settings
) -> None:
    """Opening an incident on many components reads and computes before its transaction takes
    the write lock: another writer that comes meanwhile commits at once (it used to wait for
    the whole use case: on SQLite for the database's write lock, on PostgreSQL for the rows
    locked), and the incident is then written whole, in one transaction."""
    ids, _ = _page(engine, 40)
    with unit_of_work(engine) as session:
        other = components.create_component(
            session, data=ComponentCreate(name="Elsewhere"), actor="test", now=T0
        ).id
    checks: list[bool] = []
    stop = prepared.checked(lambda _session, valid: checks.append(valid))
    try:
        # Once the components to change have been read, something else is renamed.
        with (
            another_writer_during(
                engine, "FROM component", _rename(engine, settings, other, "Renamed")
            ) as went_on,
            unit_of_work(engine) as session,
        ):
            incident_id = incidents.open_incident(
                session,
                data=IncidentCreate(
                    name="Everything",
                    body="Down",
                    components=dict.fromkeys(ids, ComponentStatus.major_outage),
                ),
                settings=settings,
                actor="test",
                now=T0 + timedelta(hours=1),
            ).id
    finally:
        stop()
    assert went_on == [True]
    assert checks == [True]  # what the incident was planned from had not moved
    with Session(engine) as session:
        assert session.get_one(Component, other).name == "Renamed"
        statuses = session.exec(select(Component.status).where(col(Component.id).in_(ids)))
        assert set(statuses) == {ComponentStatus.major_outage}
        named = session.exec(
            select(sa.func.count())
            .select_from(AffectedComponent)
            .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
            .where(IncidentUpdate.incident_id == incident_id)
        ).one()
        assert named == len(ids)


def test_a_wide_change_planned_on_what_moved_is_made_again_under_the_lock(
    engine: Engine, settings: Settings
) -> None:
    """Another writer renames one of the components while the resolution is being prepared:
    the plan no longer matches, so the use case is made again inside its transaction, and
    what it writes carries the new name (nothing the other writer did is lost or undone)."""
    ids, _ = _page(engine, 30)
    with unit_of_work(engine) as session:
        incident_id = incidents.open_incident(
            session,
            data=IncidentCreate(
                name="Everything",
                body="Down",
                components=dict.fromkeys(ids, ComponentStatus.major_outage),
            ),
            settings=settings,
            actor="test",
            now=T0 + timedelta(hours=1),
        ).id
    checks: list[bool] = []
    stop = prepared.checked(lambda _session, valid: checks.append(valid))
    try:
        with (
            another_writer_during(
                engine, "FROM component", _rename(engine, settings, ids[0], "Renamed")
            ) as went_on,
            unit_of_work(engine) as session,
        ):
            update = incidents.post_update(
                session,
                incident_id,
                data=UpdateCreate(status=IncidentStatus.resolved, body="Back"),
                settings=settings,
                actor="test",
                now=T0 + timedelta(hours=2),
            )
    finally:
        stop()
    assert went_on == [True]
    assert checks == [False]
    with Session(engine) as session:
        names = dict(
            session.exec(
                select(AffectedComponent.component_id, AffectedComponent.name).where(
                    AffectedComponent.incident_update_id == update.id
                )
            ).all()
        )
        assert names[ids[0]] == "Renamed"
        assert len(names) == len(ids)
        statuses = session.exec(select(Component.status).where(col(Component.id).in_(ids)))
        assert set(statuses) == {ComponentStatus.operational}
        resolved = session.exec(
            select(OutboxEvent.payload).where(OutboxEvent.type == "incident.resolved")
        ).one()
        assert resolved["incident"]["components"][0]["name"] == "Renamed"


def test_the_incident_payload_is_what_presenting_the_incident_gives(
    engine: Engine, settings: Settings
) -> None:
    """The incident webhook is written from plain rows, once: the same keys and values as
    presenting the incident through the API's model and cutting it to Statuspage's keys."""
    ids, _ = _page(engine, 5)
    with unit_of_work(engine) as session:
        incident = incidents.open_incident(
            session,
            data=IncidentCreate(
                name="Some",
                body="Down",
                components={ids[0]: ComponentStatus.partial_outage, ids[-1]: "major_outage"},
                chargers_affected=3,
                chargers_total=7,
            ),
            settings=settings,
            actor="test",
            now=T0 + timedelta(hours=1),
        )
        incidents.post_update(
            session,
            incident.id,
            data=UpdateCreate(status=IncidentStatus.monitoring, body="Watching"),
            settings=settings,
            actor="test",
            now=T0 + timedelta(hours=2),
        )
    with Session(engine) as session:
        found = session.get_one(Incident, incident.id)
        payload = incident_events.incident_payload(session, settings, found)
        (detail,) = read.load_details(session, [found])
        body = present_incident(
            detail, page_id=settings.page_id, public_url=settings.public_url
        ).model_dump(mode="json")
        sent = payload["incident"]
        for key in ("name", "status", "created_at", "updated_at", "monitoring_at", "impact"):
            assert sent[key] == body[key]
        assert sent["shortlink"] == body["shortlink"] and sent["chargers"] == body["chargers"]
        assert sent["components"] == [
            component_events.webhook_component(c) for c in body["components"]
        ]
        assert len(sent["incident_updates"]) == 2
        for mine, theirs in zip(sent["incident_updates"], body["incident_updates"], strict=True):
            assert {k: mine[k] for k in theirs if k in mine} == {
                k: v for k, v in theirs.items() if k in mine
            }
        # The events queued in the change carry the same incident (at that time).
        queued = session.exec(
            select(OutboxEvent.payload)
            .where(OutboxEvent.type == "incident.updated")
            .order_by(col(OutboxEvent.id).desc())
        ).first()
        assert queued is not None
        assert queued["incident"] == sent
        assert queued["page"] == payload["page"]


def test_the_staff_api_prepares_its_change_before_the_lock(staff: TestClient, app: FastAPI) -> None:
    """Through the staff API the request's transaction begins at the change itself (the token
    is read apart), so opening and resolving are prepared outside the lock there too; and the
    answer (the incident with every component) is read after the commit, on a read-only
    connection, not inside the write transaction."""
    ids = [make_component(staff, name=f"Charger {i}")["id"] for i in range(5)]
    checks: list[bool] = []
    timeline_reads: list[bool] = []  # per read of affected components: on a read-only one?

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM affected_component" in statement:
            timeline_reads.append(bool(conn.get_execution_options().get(READ_ONLY)))

    stop = prepared.checked(lambda _session, valid: checks.append(valid))
    engine = app.state.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        opened = staff.post(
            "/api/v1/incidents",
            json={
                "name": "Everything",
                "status": "investigating",
                "body": "Down",
                "components": dict.fromkeys(ids, "major_outage"),
            },
        )
        assert opened.status_code == 201, opened.text
        resolved = staff.post(
            f"/api/v1/incidents/{opened.json()['id']}/updates",
            json={"status": "resolved", "body": "Back"},
        )
        assert resolved.status_code == 201, resolved.text
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        stop()
    assert checks == [True, True]
    assert {c["status"] for c in resolved.json()["components"]} == {"operational"}
    assert len(resolved.json()["incident_updates"]) == 2
    assert timeline_reads and all(timeline_reads)

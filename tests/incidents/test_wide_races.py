"""A change prepared before the write lock is written only if nothing it was made from moved.

Each test has another writer commit while an update (or an opening) is being planned, outside
the lock: the write phase must see it and make the change again under the lock, never copy
its stale plan over the other writer's work. The other writer's request time is made older
than the newest incident's, as a slow request's is: a check of count(*) and max(updated_at)
missed exactly that (review of e54a4e3).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import data_version
from app.components import service as components
from app.components.schemas import ComponentCreate
from app.config import Settings
from app.db import unit_of_work
from app.errors import InvalidTransition
from app.importers.job import import_session
from app.incidents import postmortems, prepared
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, IncidentEdit, UpdateCreate, UpdateEdit
from app.models import (
    AffectedComponent,
    ComponentStatus,
    Delivery,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    OutboxEvent,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
)
from app.notifications import outbox
from app.subscribers import service as subscribers
from tests.incidents.test_wide import another_writer_during

T = datetime(2025, 9, 7, 9, 0, tzinfo=UTC)
LATER = T + timedelta(hours=1)  # when the other writer's request began
# Not the other writer's incident, touched a moment after its request began: the newest
# updated_at of the table stays the same when the other writer commits.
NEWEST = LATER + timedelta(seconds=5)
# While an update is planned: its incident's timeline has just been read.
PLANNING = "FROM incident_update"


def _open(engine: Engine, settings: Settings, name: str, now: datetime, **fields: Any) -> str:
    with unit_of_work(engine) as session:
        return incidents.open_incident(
            session,
            data=IncidentCreate(name=name, body="Looking", **fields),
            settings=settings,
            actor="test",
            now=now,
        ).id


def _post(
    engine: Engine,
    settings: Settings,
    incident_id: str,
    now: datetime | Callable[[], datetime],
    **fields: Any,
) -> str:
    with unit_of_work(engine) as session:
        return incidents.post_update(
            session,
            incident_id,
            data=UpdateCreate(**fields),
            settings=settings,
            actor="test",
            now=now,
        ).id


@contextmanager
def _racing(
    engine: Engine, marker: str, writer: Callable[[], None]
) -> Iterator[tuple[list[bool], list[bool]]]:
    """Run `writer` when the use case inside reaches `marker`; yields whether the writer went
    on and the outcome of every check of a plan under the lock."""
    checks: list[bool] = []
    stop = prepared.checked(lambda _session, valid: checks.append(valid))
    try:
        with another_writer_during(engine, marker, writer) as went_on:
            yield went_on, checks
    finally:
        stop()


def _last_event(engine: Engine, event_type: str) -> dict[str, Any]:
    with Session(engine) as session:
        payload = session.exec(
            select(OutboxEvent.payload)
            .where(OutboxEvent.type == event_type)
            .order_by(col(OutboxEvent.id).desc())
        ).first()
    assert payload is not None
    return dict(payload)


def test_a_postmortem_published_meanwhile_keeps_its_status(
    engine: Engine, settings: Settings
) -> None:
    """A further 'resolved' note planned before the postmortem was published: written on the
    stale plan it set the status back to resolved."""
    incident_id = _open(engine, settings, "Delays", T)
    _post(engine, settings, incident_id, T + timedelta(minutes=10), status="resolved", body="Ok")
    with unit_of_work(engine) as session:
        postmortems.save_postmortem_draft(
            session, incident_id, body="What happened", actor="test", now=T + timedelta(minutes=20)
        )
    _open(engine, settings, "Elsewhere", NEWEST)

    def publish() -> None:
        with unit_of_work(engine) as session:
            postmortems.publish_postmortem(
                session,
                incident_id,
                published_at=None,
                notify_subscribers=False,
                settings=settings,
                actor="other",
                now=LATER,
            )

    with _racing(engine, PLANNING, publish) as (went_on, checks):
        _post(engine, settings, incident_id, NEWEST, status="resolved", body="One more note")
    assert went_on == [True]
    assert checks == [False]
    with Session(engine) as session:
        incident = session.get_one(Incident, incident_id)
        assert incident.status == IncidentStatus.postmortem
        assert incident.postmortem_published_at == LATER
        assert incident.updated_at == NEWEST


def test_an_incident_resolved_meanwhile_is_not_reopened(engine: Engine, settings: Settings) -> None:
    """An 'identified' update planned while the incident (no components) was being resolved:
    written on the stale plan it reopened the incident; under the lock it is refused."""
    incident_id = _open(engine, settings, "Delays", T)
    _open(engine, settings, "Elsewhere", NEWEST)

    def resolve() -> None:
        _post(engine, settings, incident_id, LATER, status="resolved", body="Fixed")

    with (
        _racing(engine, PLANNING, resolve) as (went_on, checks),
        pytest.raises(InvalidTransition),
    ):
        _post(engine, settings, incident_id, NEWEST, status="identified", body="Found it")
    assert went_on == [True]
    assert checks == [True, False]  # the other writer's own check, then ours
    with Session(engine) as session:
        incident = session.get_one(Incident, incident_id)
        assert (incident.status, incident.resolved_at) == (IncidentStatus.resolved, LATER)
        bodies = session.exec(
            select(IncidentUpdate.body).where(IncidentUpdate.incident_id == incident_id)
        ).all()
        assert sorted(bodies) == ["Fixed", "Looking"]


def test_an_impact_override_set_meanwhile_is_kept(engine: Engine, settings: Settings) -> None:
    """A rename and an impact override made while an update was planned: the stale plan wrote
    the old impact over it (impact none, override critical) and an event with the old name."""
    incident_id = _open(engine, settings, "Delays", T)
    _open(engine, settings, "Elsewhere", NEWEST)

    def edit() -> None:
        with unit_of_work(engine) as session:
            incidents.change_incident(
                session,
                incident_id,
                data=IncidentEdit(impact_override=Impact.critical, name="Charging down"),
                actor="other",
                now=LATER,
            )

    with _racing(engine, PLANNING, edit) as (went_on, checks):
        _post(engine, settings, incident_id, NEWEST, status="monitoring", body="Watching")
    assert went_on == [True]
    assert checks == [False]
    with Session(engine) as session:
        incident = session.get_one(Incident, incident_id)
        assert (incident.name, incident.impact, incident.impact_override) == (
            "Charging down",
            Impact.critical,
            Impact.critical,
        )
        assert incident.status == IncidentStatus.monitoring
    sent = _last_event(engine, "incident.updated")["incident"]
    assert (sent["name"], sent["impact"]) == ("Charging down", "critical")


def test_an_update_corrected_meanwhile_is_what_the_incident_follows(
    engine: Engine, settings: Settings
) -> None:
    """An update's display time and body corrected while a resolution was planned: the stale
    plan wrote the old monitoring_at and an event carrying the old body."""
    incident_id = _open(engine, settings, "Delays", T)
    watching = _post(
        engine, settings, incident_id, T + timedelta(minutes=30), status="monitoring", body="W"
    )
    _open(engine, settings, "Elsewhere", NEWEST)

    def correct() -> None:
        with unit_of_work(engine) as session:
            incidents.edit_update(
                session,
                incident_id,
                watching,
                data=UpdateEdit(display_at=T + timedelta(minutes=15), body="Watching (fixed)"),
                actor="other",
                now=LATER,
            )

    with _racing(engine, PLANNING, correct) as (went_on, checks):
        _post(engine, settings, incident_id, NEWEST, status="resolved", body="Done")
    assert went_on == [True]
    assert checks == [False]
    with Session(engine) as session:
        incident = session.get_one(Incident, incident_id)
        assert incident.monitoring_at == T + timedelta(minutes=15)
        assert incident.resolved_at == NEWEST
    sent = _last_event(engine, "incident.resolved")["incident"]
    assert [u["body"] for u in sent["incident_updates"]] == ["Done", "Watching (fixed)", "Looking"]


def test_a_redo_reads_the_clock_under_the_lock(engine: Engine, settings: Settings) -> None:
    """Given a clock, an update planned before the lock read it there; when an update of the
    same incident commits meanwhile, the plan is dropped and the clock read again under the
    lock, so the update applied last is the newest and sets the incident's status."""
    incident_id = _open(engine, settings, "Delays", T)
    _open(engine, settings, "Elsewhere", NEWEST)
    readings = [LATER + timedelta(seconds=1), LATER + timedelta(seconds=3)]

    def clock() -> datetime:
        return readings.pop(0)

    def other() -> None:  # its request read the clock in between
        _post(
            engine,
            settings,
            incident_id,
            LATER + timedelta(seconds=2),
            status="monitoring",
            body="Watching",
        )

    with _racing(engine, PLANNING, other) as (went_on, checks):
        mine = _post(engine, settings, incident_id, clock, status="identified", body="Found")
    assert went_on == [True]
    assert checks == [True, False]
    assert readings == []  # read twice: before the lock for the plan, then under the lock
    with Session(engine) as session:
        update = session.get_one(IncidentUpdate, mine)
        assert update.display_at == LATER + timedelta(seconds=3)
        incident = session.get_one(Incident, incident_id)
        newest = session.exec(
            select(IncidentUpdate.status)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(col(IncidentUpdate.display_at).desc())
        ).first()
        assert incident.status == newest == IncidentStatus.identified


def test_a_write_that_does_not_move_the_data_version_is_seen_in_the_incident_row(
    engine: Engine, settings: Settings
) -> None:
    """A writer outside the data version's hooks (as the Statuspage importer's session was)
    changes the incident's row: the row locked is compared with the one planned from."""
    incident_id = _open(engine, settings, "Delays", T)

    def rename() -> None:
        with Session(engine) as session:  # a plain session: no data-version hooks
            incident = session.get_one(Incident, incident_id)
            incident.name = "Renamed at the source"
            incident.impact_override = Impact.major
            session.add(incident)
            session.commit()

    with _racing(engine, PLANNING, rename) as (went_on, checks):
        _post(engine, settings, incident_id, NEWEST, status="monitoring", body="Watching")
    assert went_on == [True]
    assert checks == [False]
    with Session(engine) as session:
        incident = session.get_one(Incident, incident_id)
        assert (incident.name, incident.impact) == ("Renamed at the source", Impact.major)


def test_an_import_moves_the_incidents_data_version(engine: Engine, settings: Settings) -> None:
    """The importer's commits move the data version like any writer's (render caches, plans
    made before the lock)."""
    incident_id = _open(engine, settings, "Delays", T)
    before = data_version.read_versions(engine).changed[data_version.INCIDENTS]
    with import_session(engine, dry_run=False) as session:
        incident = session.get_one(Incident, incident_id)
        incident.updated_at = T + timedelta(minutes=1)
        session.add(incident)
        session.commit()
    assert data_version.read_versions(engine).changed[data_version.INCIDENTS] > before


def test_an_opening_planned_on_what_moved_is_made_again_under_the_lock(
    engine: Engine, settings: Settings
) -> None:
    """Another incident takes one of the components while an opening is planned: the opening
    is made again under the lock, starting from the status the other one set."""
    with unit_of_work(engine) as session:
        ids = [
            components.create_component(
                session, data=ComponentCreate(name=f"Charger {n}"), actor="test", now=T
            ).id
            for n in range(3)
        ]

    def take() -> None:
        _open(
            engine,
            settings,
            "Elsewhere",
            LATER,
            components={ids[1]: ComponentStatus.partial_outage},
        )

    with _racing(engine, "FROM component", take) as (went_on, checks):
        incident_id = _open(
            engine,
            settings,
            "Everything",
            NEWEST,
            components=dict.fromkeys(ids, ComponentStatus.major_outage),
        )
    assert went_on == [True]
    assert checks == [True, False]
    with Session(engine) as session:
        named = session.exec(
            select(AffectedComponent.component_id, AffectedComponent.old_status)
            .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
            .where(IncidentUpdate.incident_id == incident_id)
        ).all()
        assert dict(named) == {
            ids[0]: ComponentStatus.operational,
            ids[1]: ComponentStatus.partial_outage,
            ids[2]: ComponentStatus.operational,
        }
        statuses = {c.id: c.status for c in components.list_components(session)}
        assert {statuses[i] for i in ids} == {ComponentStatus.major_outage}


def _subscriber(engine: Engine) -> str:
    """A webhook subscriber of everything."""
    with unit_of_work(engine) as session:
        subscriber = Subscriber(
            channel=SubscriberChannel.webhook,
            url=f"https://hooks.example.com/{secrets.token_hex(4)}",
            secret="whsec_test",
            component_ids=None,
            status=SubscriberStatus.active,
            unsubscribe_token=secrets.token_urlsafe(16),
            created_at=T,
            updated_at=T,
        )
        session.add(subscriber)
        session.flush()
        return subscriber.id


def _unsubscribe(engine: Engine, subscriber_id: str) -> Callable[[], None]:
    def unsubscribe() -> None:
        with unit_of_work(engine) as session:
            subscribers.unsubscribe(session, session.get_one(Subscriber, subscriber_id), now=T)

    return unsubscribe


def test_an_unsubscribe_during_the_write_waits_for_it(engine: Engine, settings: Settings) -> None:
    """A subscriber deleted between the check and the deliveries' insert broke the insert's
    foreign key on PostgreSQL (a 500, nothing written): the write holds the subscribers it
    delivers to, and the unsubscribe goes on once it has committed."""
    subscriber_id = _subscriber(engine)
    other = threading.Thread(target=_unsubscribe(engine, subscriber_id))
    waiting: list[bool] = []

    def meanwhile(_session: Session, valid: bool) -> None:
        assert valid
        other.start()
        other.join(0.5)
        waiting.append(other.is_alive())

    stop = prepared.checked(meanwhile)
    try:
        incident_id = _open(engine, settings, "Delays", LATER)
    finally:
        stop()
    other.join(30)
    assert waiting == [True]
    assert not other.is_alive()
    with Session(engine) as session:
        assert session.get(Incident, incident_id) is not None
        assert session.get(Subscriber, subscriber_id) is None
        assert session.exec(select(Delivery)).all() == []  # went with the subscriber


def test_an_unsubscribe_while_events_are_queued_drops_its_deliveries(
    engine: Engine, settings: Settings, database_url: str
) -> None:
    """The same race where events are queued one use case at a time (the outbox), on
    PostgreSQL: a subscriber read as hearing, then deleted and committed before the deliveries'
    insert, broke its foreign key; it now hears nothing and the change goes through. (On
    SQLite the unsubscribe waits for the write lock.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock holds the subscribers too")
    subscriber_id = _subscriber(engine)
    stays = _subscriber(engine)
    with (
        another_writer_during(
            engine, "FROM subscriber", _unsubscribe(engine, subscriber_id)
        ) as went_on,
        unit_of_work(engine) as session,
    ):
        outbox.emit(
            session,
            event_type="component.status_changed",
            payload={},
            component_ids=None,
            now=T,
            subject="component:x",
        )
    assert went_on == [True]
    with Session(engine) as session:
        assert session.get(Subscriber, subscriber_id) is None
        assert session.exec(select(Delivery.subscriber_id)).all() == [stays]

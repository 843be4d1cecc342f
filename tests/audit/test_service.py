"""The audit log: every write says who, what, when and from where; staff filter it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.audit import service as audit
from app.db import unit_of_work
from tests.conftest import FakeClock, make_component, open_incident


def test_writes_are_logged_with_their_origin_and_can_be_filtered(
    staff: TestClient, engine: Engine, clock: FakeClock
) -> None:
    ocpp = make_component(staff, name="OCPP")
    clock.advance(hours=1)
    since = clock()
    incident = open_incident(staff, components={ocpp["id"]: "partial_outage"})
    with unit_of_work(engine) as session:
        everything = audit.list_events(session, audit.AuditFilter(), limit=10)
        assert [e.action for e in everything] == [
            "incident.opened",
            "component.created",
            "token.created",  # the test's own token, made from the command line
        ]
        by_api = audit.list_events(session, audit.AuditFilter(actor="tester"), limit=10)
        assert [e.action for e in by_api] == ["incident.opened", "component.created"]
        assert {(e.actor, e.ip) for e in by_api} == {("token:tester", "testclient")}
        recent = audit.list_events(session, audit.AuditFilter(since=since), limit=10)
        assert [e.object_id for e in recent] == [incident["id"]]
        by_action = audit.AuditFilter(action="component.")
        assert [e.object_id for e in audit.list_events(session, by_action, limit=10)] == [
            ocpp["id"]
        ]
        assert audit.list_events(session, audit.AuditFilter(actor="nobody"), limit=10) == []
        assert audit.list_events(session, audit.AuditFilter(), limit=1, offset=1)[0].action == (
            "component.created"
        )
        later = audit.AuditFilter(since=clock() + timedelta(days=1))
        assert audit.list_events(session, later, limit=10) == []
        assert audit.actions(session) == ["component.created", "incident.opened", "token.created"]

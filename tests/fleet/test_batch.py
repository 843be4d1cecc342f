"""Group commit of pushes: many at once are one transaction (one data-version bump), each in
its savepoint, so a bad one fails alone and the others are stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import data_version
from app.db import unit_of_work
from app.fleet import store
from app.fleet.batch import Apply, GroupCommit
from app.fleet.ocpi import OcpiError
from app.models import EvseStatusChange, FleetEvse
from peers.ocpi import make_location
from tests.conftest import FakeClock

T0 = datetime(2025, 9, 7, 8, 0, tzinfo=UTC)


def test_pushes_arriving_together_commit_together(engine: Engine, clock: FakeClock) -> None:
    with unit_of_work(engine) as session:
        store.apply_locations(
            session, "roaming", [make_location("OSL-1", city="Oslo", evses=20, at=T0)], now=clock()
        )
    before = data_version.read(engine)
    writer = GroupCommit(engine, clock, window=0.2)

    def change(uid: str, status: str) -> Apply:
        def apply(session: Session, now: datetime) -> str:
            evse = session.exec(select(FleetEvse).where(FleetEvse.uid == uid)).one()
            store.apply_evse(
                session,
                "roaming",
                "OSL-1",
                {"uid": uid, "status": status, "last_updated": "2025-09-07T09:00:00Z"},
                known=evse,
                now=now,
                partial=True,
            )
            return uid

        return apply

    async def burst() -> list[object]:
        pushes = [writer.submit(change(f"OSL-1-{n}", "CHARGING")) for n in range(1, 20)]
        pushes.append(writer.submit(change("OSL-1-20", "EXPLODED")))
        return await asyncio.gather(*pushes, return_exceptions=True)

    results = asyncio.run(burst())
    assert writer.batches == 1
    assert results[:19] == [f"OSL-1-{n}" for n in range(1, 20)]
    assert isinstance(results[19], OcpiError)
    assert data_version.read(engine) == before + 1
    with unit_of_work(engine) as session:
        statuses = {e.uid: e.status for e in session.exec(select(FleetEvse))}
        assert sum(s == "CHARGING" for s in statuses.values()) == 19
        assert statuses["OSL-1-20"] == "AVAILABLE"
        assert len(session.exec(select(EvseStatusChange)).all()) == 20 + 19


def test_a_failed_commit_answers_every_sender(engine: Engine, clock: FakeClock) -> None:
    writer = GroupCommit(engine, clock, window=0.0)

    def clash(session: Session, now: datetime) -> str:
        session.add(
            FleetEvse(
                peer="p",
                location_id="l",
                uid="u",
                status="AVAILABLE",
                status_since=now,
                last_updated=now,
            )
        )
        return "stored"

    async def twice() -> list[object]:
        first = await writer.submit(clash)
        second = await asyncio.gather(writer.submit(clash), return_exceptions=True)
        return [first, *second]

    first, second = asyncio.run(twice())
    assert first == "stored"
    assert isinstance(second, Exception)  # the unique (peer, location, uid) refused it

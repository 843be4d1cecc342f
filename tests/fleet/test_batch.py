"""Group commit of pushes: many at once are one transaction (one data-version bump), their
changes flushed together (one UPDATE, one INSERT); a bad one fails alone and the others are
stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import data_version
from app.config import Settings
from app.db import unit_of_work
from app.fleet import store
from app.fleet.batch import Apply, GroupCommit
from app.fleet.ocpi import OcpiError
from app.fleet.probe import OcpiPoller
from app.models import EvseStatusChange, FleetEvse
from peers.ocpi import Cpo, make_location, serve
from tests.conftest import FakeClock
from tests.fleet.helpers import ocpi_probe, run_once, seed, serve_pharos, transactions

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


def test_a_burst_of_pushes_is_one_update_and_one_insert_per_batch(
    settings: Settings, engine: Engine, clock: FakeClock
) -> None:
    peer = Cpo()
    seed(peer, T0, cities={"Oslo": 6}, evses=5)
    with serve(peer), serve_pharos(settings) as url:
        poller = OcpiPoller(engine, settings.model_copy(update={"public_url": url}), clock=clock)
        assert run_once(poller, ocpi_probe(peer)).ok
        at = datetime.now(UTC)
        changes = [
            (f"OSL-{n}", f"OSL-{n}-{e}", "CHARGING", at) for n in range(1, 7) for e in range(1, 6)
        ]
        with transactions() as seen:
            assert peer.push_burst(changes) == [200] * 30
    batches = seen.writing("fleet_evse")
    assert sum(rows for batch in batches for _, rows in batch) == 30  # executemany's rows
    assert len(batches) < 30  # pushes arriving together were written together
    for statements in batches:  # ... each kind of change in one statement
        assert [sql.split(" (")[0].split(" SET")[0] for sql, _ in statements] == [
            "UPDATE fleet_evse"
        ]
    logged = seen.writing("evse_status_change")
    assert len(logged) == len(batches)
    assert all(len(statements) == 1 for statements in logged), logged
    with unit_of_work(engine) as session:
        assert {e.status for e in session.exec(select(FleetEvse))} == {"CHARGING"}

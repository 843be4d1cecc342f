"""One replica leads probing; another takes over within one interval when it dies.

Runs on every configured backend (SQLite always, PostgreSQL with PHAROS_TEST_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.clock import utcnow
from app.config import Settings
from app.db import unit_of_work
from app.models import ProbeResult
from app.probes import lease
from app.probes.runner import ProbeRunner
from peers.csms import CentralSystem
from tests.conftest import START
from tests.probes.helpers import ocpp_probe_table, probes


def test_lease_is_held_renewed_and_taken_over_after_expiry(engine: Engine) -> None:
    def lead(holder: str, seconds: float) -> bool:
        with unit_of_work(engine) as session:
            return lease.try_lead(
                session, holder=holder, now=START + timedelta(seconds=seconds), ttl=10
            )

    assert lead("a", 0)
    assert not lead("b", 1)
    assert lead("a", 9)  # renewed until 19
    assert not lead("b", 18)
    assert lead("b", 19.5)
    assert not lead("a", 20)
    with unit_of_work(engine) as session:
        lease.release_lead(session, holder="b", now=START + timedelta(seconds=21))
    assert lead("a", 21)


def test_exactly_one_of_many_racing_replicas_leads(engine: Engine) -> None:
    won: list[str] = []
    barrier = threading.Barrier(8)

    def contender(holder: str) -> None:
        barrier.wait()
        with unit_of_work(engine) as session:
            if lease.try_lead(session, holder=holder, now=utcnow(), ttl=30):
                won.append(holder)

    threads = [threading.Thread(target=contender, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_a_follower_takes_over_within_one_interval_when_the_leader_dies(
    settings: Settings, engine: Engine
) -> None:
    with CentralSystem() as csms:
        config = probes(ocpp_probe_table(csms, interval="1s", propagation=None))
        first = ProbeRunner(engine, settings, config, holder="replica-1")
        second = ProbeRunner(engine, settings, config, holder="replica-2")
        # A crashed process never releases its lease.
        first._release = lambda: None  # type: ignore[method-assign]

        async def scenario() -> float:
            one = asyncio.create_task(first.run(lambda: None))
            await asyncio.sleep(0.3)
            two = asyncio.create_task(second.run(lambda: None))
            await asyncio.sleep(1.5)
            assert first.leading and not second.leading
            assert second.runs == 0 and first.runs >= 1
            one.cancel()
            await asyncio.gather(one, return_exceptions=True)
            died = time.monotonic()
            while not second.leading:
                assert time.monotonic() - died < 3, "no takeover"
                await asyncio.sleep(0.05)
            took = time.monotonic() - died
            for _ in range(60):  # its first run follows at once
                if second.runs:
                    break
                await asyncio.sleep(0.05)
            assert second.runs >= 1
            two.cancel()
            await asyncio.gather(two, return_exceptions=True)
            return took

        took = asyncio.run(scenario())
    assert took <= 1.0 + second.tick + 0.3  # one interval, give or take a round
    with unit_of_work(engine) as session:
        assert len(session.exec(select(ProbeResult)).all()) >= 2

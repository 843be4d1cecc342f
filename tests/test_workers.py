"""The supervisor restarts loops that stall or die, and /healthz tells."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.config import Settings
from app.main import create_app
from app.workers import Heartbeat, Supervisor


class Stalls:
    """Beats once, then hangs without beating (a stalled message processor)."""

    name = "stalls"

    def __init__(self) -> None:
        self.starts = 0

    async def run(self, beat: Heartbeat) -> None:
        self.starts += 1
        beat()
        await asyncio.Event().wait()


class Dies:
    """Crashes straight away."""

    name = "dies"

    def __init__(self) -> None:
        self.starts = 0

    async def run(self, beat: Heartbeat) -> None:
        self.starts += 1
        beat()
        raise RuntimeError("boom")


def test_stalled_and_dead_loops_are_restarted() -> None:
    async def scenario() -> tuple[int, int, dict[str, dict[str, object]]]:
        stalls, dies = Stalls(), Dies()
        supervisor = Supervisor([stalls, dies], stall_after=0.2, check_every=0.05)
        await supervisor.start()
        await asyncio.sleep(0.05)
        health_before = supervisor.health()
        assert health_before["dies"]["alive"] is False
        await asyncio.sleep(0.6)
        await supervisor.stop()
        return stalls.starts, dies.starts, supervisor.health()

    stall_starts, die_starts, health = asyncio.run(scenario())
    assert stall_starts >= 2
    assert die_starts >= 3
    assert health["stalls"]["restarts"] == stall_starts - 1


def test_healthz_reports_the_webhook_worker(settings: Settings, engine: Engine) -> None:
    live = settings.model_copy(update={"run_workers": True})
    with TestClient(create_app(live)) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["workers"]["webhooks"]["alive"] is True
    assert body["workers"]["webhooks"]["restarts"] == 0

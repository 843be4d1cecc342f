"""The maintenance scheduler: starts, completes and reminds on time, inside the supervisor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.config import Settings
from app.db import read_session, unit_of_work
from app.maintenance import service
from app.workers import Heartbeat

log = logging.getLogger("pharos.maintenance")


class MaintenanceScheduler:
    """Runs due maintenance transitions; each is re-checked under a row lock, so two
    replicas, a restart or a catch-up never fire one twice."""

    name = "maintenance"

    def __init__(
        self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def run_once(self) -> int:
        """Do everything due now; returns how many maintenances were looked at."""
        with read_session(self.engine) as session:
            due = service.due_transitions(session, now=self.clock())
        for maintenance_id in due:
            try:
                with unit_of_work(self.engine) as session:
                    service.run_transition(
                        session, maintenance_id, settings=self.settings, now=self.clock()
                    )
            except Exception:  # one broken maintenance must not hold up the others
                log.exception(
                    "maintenance %s: transition failed; retrying next round", maintenance_id
                )
        return len(due)

    async def run(self, beat: Heartbeat) -> None:
        """Check every poll interval, forever."""
        while True:
            beat()
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a database hiccup must not end the loop
                log.exception("maintenance round failed; retrying")
            await asyncio.sleep(max(self.settings.worker_poll_seconds, 1.0))

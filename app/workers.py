"""Background loops with heartbeats, and a supervisor that restarts a stalled or dead loop.

The incident that started Pharos was two stalled message processors that nothing noticed.
Every loop here calls its heartbeat each round; one that stops beating for `stall_after`
seconds is cancelled and started again, and /healthz reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("pharos.workers")

Heartbeat = Callable[[], None]


class Loop(Protocol):
    """A background loop: runs forever, calling beat() at least once per round."""

    name: str

    def run(self, beat: Heartbeat) -> Coroutine[Any, Any, None]:
        """Run until cancelled."""
        ...


@dataclass
class LoopState:
    """What the supervisor knows about one loop."""

    name: str
    last_beat: float = field(default_factory=time.monotonic)
    restarts: int = 0
    task: asyncio.Task[None] | None = None

    def beat(self) -> None:
        """Record a sign of life."""
        self.last_beat = time.monotonic()

    def age(self) -> float:
        """Seconds since the last sign of life."""
        return time.monotonic() - self.last_beat


class Supervisor:
    """Runs loops as asyncio tasks and restarts any that stall or die."""

    def __init__(self, loops: list[Loop], *, stall_after: float = 60.0, check_every: float = 5.0):
        self.loops = {loop.name: loop for loop in loops}
        self.states = {loop.name: LoopState(loop.name) for loop in loops}
        self.stall_after = stall_after
        self.check_every = check_every
        self._watch: asyncio.Task[None] | None = None

    def _start(self, name: str) -> None:
        state = self.states[name]
        state.beat()
        state.task = asyncio.create_task(self.loops[name].run(state.beat), name=f"pharos-{name}")

    async def start(self) -> None:
        """Start every loop and the watchdog."""
        for name in self.loops:
            self._start(name)
        self._watch = asyncio.create_task(self._watchdog(), name="pharos-supervisor")

    async def check(self) -> None:
        """Restart loops that died or have not beaten for stall_after seconds."""
        for name, state in self.states.items():
            dead = state.task is None or state.task.done()
            stalled = state.age() > self.stall_after
            if not (dead or stalled):
                continue
            log.error("worker %s %s; restarting it", name, "died" if dead else "stalled")
            if state.task is not None and not state.task.done():
                state.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(state.task, timeout=5)
            state.restarts += 1
            self._start(name)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            await self.check()

    async def stop(self) -> None:
        """Cancel everything and wait for it to end."""
        tasks = [t for t in [self._watch, *(s.task for s in self.states.values())] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def health(self) -> dict[str, dict[str, object]]:
        """Per-loop liveness for /healthz."""
        return {
            name: {
                "alive": state.task is not None and not state.task.done(),
                "stalled": state.age() > self.stall_after,
                "last_beat_seconds_ago": round(state.age(), 3),
                "restarts": state.restarts,
            }
            for name, state in self.states.items()
        }

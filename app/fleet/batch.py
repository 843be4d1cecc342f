"""Group commit for pushed EVSE updates: at fleet scale (thousands of chargers changing status
every second) one transaction per push would mean one commit, one fsync and one data-version
bump (so one re-render wake-up) per change. Pushes that arrive together are written together:
the first waits up to `window` seconds for company, then the batch is applied in one
transaction, each push in its own savepoint (a bad one fails alone), and every sender gets its
answer only after the commit, so nothing acknowledged is ever lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import unit_of_work

log = logging.getLogger("pharos.fleet")

Apply = Callable[[Session, datetime], object]  # one push's work; its return value is the answer


@dataclass
class _Pending:
    apply: Apply
    done: asyncio.Future[object] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """Collects pushes and writes each group in one transaction."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        window: float = 0.05,
        max_batch: int = 500,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.window = window
        self.max_batch = max_batch
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[_Pending] | None = None
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and metrics)

    def _ensure(self) -> asyncio.Queue[_Pending]:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.queue is None or self.task is None or self.task.done():
            self.loop, self.queue = loop, asyncio.Queue()
            self.task = loop.create_task(self._run(self.queue))
        return self.queue

    async def submit(self, apply: Apply) -> object:
        """Run `apply(session, now)` in the next group's transaction; its result once committed."""
        pending = _Pending(apply)
        self._ensure().put_nowait(pending)
        return await pending.done

    async def _run(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            group = [await queue.get()]
            deadline = asyncio.get_running_loop().time() + self.window
            while len(group) < self.max_batch:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    group.append(await asyncio.wait_for(queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                results = await asyncio.to_thread(self._write, group)
            except Exception as exc:  # the commit failed: nobody's push was stored
                log.exception("a batch of %d pushes failed to commit", len(group))
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            for pending, result in zip(group, results, strict=True):
                if pending.done.done():
                    continue
                if isinstance(result, BaseException):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)

    def _write(self, group: list[_Pending]) -> list[object]:
        results: list[object] = []
        with unit_of_work(self.engine) as session:
            now = self.clock()
            for pending in group:
                savepoint = session.begin_nested()
                try:
                    result = pending.apply(session, now)
                    savepoint.commit()  # flushes: a constraint may still refuse it here
                except Exception as exc:  # this push alone is refused
                    savepoint.rollback()
                    result = exc
                results.append(result)
        self.batches += 1
        return results

"""Group commit for pushed EVSE updates: at fleet scale (thousands of chargers changing status
every second) one transaction per push would mean one commit, one fsync and one data-version
bump (so one re-render wake-up) per change. Pushes that arrive together are written together:
the first waits up to `window` seconds for company, then the batch is applied in one
transaction, and every sender gets its answer only after the commit, so nothing acknowledged is
ever lost.

A batch is first applied all at once: what its pushes address is loaded in a few queries
(`prefetch`, from each push's hint), and the changes are flushed together, so a burst of status
changes is one UPDATE and one INSERT statement (executemany), not one round trip per push.
If anything in it fails, that attempt is rolled back and the batch is applied again one push
per savepoint: a bad push fails alone and the others are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import unit_of_work
from app.fleet import store

log = logging.getLogger("pharos.fleet")

Apply = Callable[[Session, datetime], object]  # one push's work; its return value is the answer
Prefetch = Callable[[Session, list[Any]], None]  # loads what a batch's hints address


@dataclass
class _Pending:
    apply: Apply
    hint: Any = None
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
        prefetch: Prefetch | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.window = window
        self.max_batch = max_batch
        self.prefetch = prefetch
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[_Pending] | None = None
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and metrics)
        self.retried = 0  # batches applied again push by push, after a failure

    def _ensure(self) -> asyncio.Queue[_Pending]:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.queue is None or self.task is None or self.task.done():
            self.loop, self.queue = loop, asyncio.Queue()
            self.task = loop.create_task(self._run(self.queue))
        return self.queue

    async def submit(self, apply: Apply, hint: Any = None) -> object:
        """Run `apply(session, now)` in the next group's transaction; its result once committed.

        `hint` tells `prefetch` what the push addresses."""
        pending = _Pending(apply, hint)
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
        with unit_of_work(self.engine) as session:
            now = self.clock()
            results = self._at_once(session, group, now)
            if results is None:
                self.retried += 1
                results = self._one_by_one(session, group, now)
        self.batches += 1
        return results

    def _at_once(
        self, session: Session, group: list[_Pending], now: datetime
    ) -> list[object] | None:
        savepoint = session.begin_nested()
        try:
            if self.prefetch is not None:
                self.prefetch(session, [p.hint for p in group if p.hint is not None])
            results = [pending.apply(session, now) for pending in group]
            savepoint.commit()  # one flush for the whole batch
        except Exception:
            savepoint.rollback()
            store.forget_prefetched(session)
            return None
        return results

    def _one_by_one(self, session: Session, group: list[_Pending], now: datetime) -> list[object]:
        results: list[object] = []
        for pending in group:
            savepoint = session.begin_nested()
            try:
                result = pending.apply(session, now)
                savepoint.commit()  # flushes: a constraint may still refuse it here
            except Exception as exc:  # this push alone is refused
                savepoint.rollback()
                result = exc
            results.append(result)
        return results

"""What several public answers build from the same rows, built once per data version.

After a change the render cache re-renders every cached answer; several of them start from the
same data (summary.json holds what components.json, status.json and unresolved.json hold, and
every answer states the page's last change). Such parts are kept here per data version: the
first render that needs one builds it, renders at the same time wait for that build, later
ones reuse it.

The version is read in the render's own session before the build reads anything, so what is
kept under version V is V's data or newer, never older; a later change has a later version and
misses. Only plain values are kept (dicts, strings, datetimes), never ORM objects, which belong
to the session that loaded them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session

from app import data_version
from app.components import service as components
from app.incidents import read
from app.models import Component, DataVersion
from app.web.reader import Reader

T = TypeVar("T")
log = logging.getLogger(__name__)
WAIT_SECONDS = 10.0  # for a build another render started
KEPT = 64  # parts, all versions together (a change makes the older ones useless)
_TABLE = DataVersion.__table__  # type: ignore[attr-defined]
_VERSIONS = sa.select(_TABLE.c.version, *(_TABLE.c[f"{t}_at"] for t in data_version.TOPICS)).where(
    _TABLE.c.id == 1
)


class PerVersion:
    """Parts of answers by (data version, name); one per app (app.state.per_version)."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Hashable, ...], Future[Any]] = OrderedDict()
        self._latest: dict[Hashable, tuple[Hashable, ...]] = {}  # each name's newest key
        self._lock = threading.Lock()
        self.builds = 0  # for tests: how many parts were built rather than reused

    def clear(self) -> None:
        """Forget every kept part (tests measuring a whole render)."""
        with self._lock:
            self._kept.clear()
            self._latest.clear()

    def get(
        self,
        session: Session,
        name: Hashable,
        build: Callable[[], T],
        topics: Iterable[str] | None = None,
    ) -> T:
        """The part called `name` at the session's data version, built once by `build`
        (which must read through the same session, after this call).

        With `topics` (app.data_version.TOPICS; OTHER is always among them), the part is
        kept until one of those changes rather than until any change: only pass the topics
        of everything `build` reads.
        """
        row = session.execute(_VERSIONS).one_or_none()
        if row is None:  # a database without the row: nothing to key on
            return build()
        if topics is None:
            key: tuple[Hashable, ...] = (int(row[0]), name)
        else:
            changed = dict(zip(data_version.TOPICS, row[1:], strict=True))
            shown = sorted({*topics, data_version.OTHER})
            key = ("topics", tuple((t, int(changed[t])) for t in shown), name)
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                kept = self._kept[key] = Future()
                self.builds += 1
                # The part of an older version is of no more use once a newer one is built
                # (a render that started before the change just builds its own).
                older = self._latest.get(name)
                if older is not None and older != key:
                    self._kept.pop(older, None)
                self._latest[name] = key
                while len(self._kept) > self.size:
                    evicted, _ = self._kept.popitem(last=False)
                    if self._latest.get(evicted[-1]) == evicted:
                        del self._latest[evicted[-1]]
                mine = True
            else:
                self._kept.move_to_end(key)
                mine = False
        if not mine:
            try:
                return cast(T, kept.result(timeout=WAIT_SECONDS))
            except FutureTimeout:  # never wait on a build that is stuck: make our own
                log.warning("a kept part took over %s s to build: built again", WAIT_SECONDS)
                return build()
        try:
            value = build()
        except BaseException as exc:
            with self._lock:  # not kept: the next render tries again
                if self._kept.get(key) is kept:
                    del self._kept[key]
            kept.set_exception(exc)
            raise
        kept.set_result(value)
        return value


def page_components(session: Session, kept: PerVersion | None) -> list[Component]:
    """Every component and group in display order (components.list_components), read once
    until a status or a component changes, for every answer rendered meanwhile.

    The one exception to "plain values only": the components are expunged from the session
    that read them, so no session ever expires, refreshes or lazy-loads them; they have no
    relationships and are only read. Never change one (nor add it to a session).
    """
    if kept is None:
        return components.list_components(session)

    def build() -> tuple[Component, ...]:
        found = components.list_components(session)
        for c in found:
            session.expunge(c)
        return tuple(found)

    topics = (data_version.STATUS, data_version.COMPONENTS)
    return list(kept.get(session, "page_components", build, topics=topics))


def page_last_change(r: Reader) -> datetime | None:
    """When anything on the page last changed (every answer says so), once per version."""
    kept: PerVersion = r.request.app.state.per_version
    return kept.get(r.session, "last_change", lambda: read.last_change(r.session))

"""The daily uptime rollups, kept incrementally from the exact status log.

Between two entries of component_status_change a component sat in one status. When a change is
logged, the interval it closes is cut at the page's local midnights and added to component_day
in the same transaction. The interval still open (the last change to now) is added when
reading, never stored. Reads therefore never scan the log, and a day's figures equal the log's
to the microsecond. Time before a component was created is no data, never negative time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import Component, ComponentDay, ComponentStatus, ComponentStatusChange

COLUMNS: dict[ComponentStatus, str] = {s: f"{s.value}_us" for s in ComponentStatus}
_ALL = tuple(COLUMNS.values())


def day_start(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a local day begins."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def split_by_day(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[date, int]]:
    """[start, end) cut at tz's local midnights: (local day, microseconds), oldest first."""
    cursor, end = start.astimezone(UTC), end.astimezone(UTC)
    day = cursor.astimezone(tz).date()
    pieces: list[tuple[date, int]] = []
    while cursor < end:
        piece_end = min(day_start(day + timedelta(days=1), tz), end)
        if piece_end > cursor:  # always, except in zones whose midnight repeats
            pieces.append((day, (piece_end - cursor) // timedelta(microseconds=1)))
            cursor = piece_end
        day += timedelta(days=1)
    return pieces


@dataclass(frozen=True)
class Interval:
    """One closed interval of a component's log: `status` from `start` (None: since the
    component was created) to `end`."""

    component: Component
    status: ComponentStatus
    start: datetime | None
    end: datetime


def rollup_rows(intervals: Iterable[Interval], *, tz: tzinfo) -> list[dict[str, object]]:
    """The intervals as rows to add to component_day: one per component and local day, with
    its microseconds in each status (clipped at the component's creation)."""
    totals: dict[tuple[str, date], dict[str, int]] = {}
    for interval in intervals:
        born = interval.component.created_at
        begin = max(interval.start or born, born)
        column = COLUMNS[interval.status]
        for day, us in split_by_day(begin, interval.end, tz):
            spent = totals.setdefault((interval.component.id, day), dict.fromkeys(_ALL, 0))
            spent[column] += us
    return [{"component_id": cid, "day": day, **spent} for (cid, day), spent in totals.items()]


def add_intervals(session: Session, intervals: Iterable[Interval], *, tz: tzinfo) -> None:
    """Add closed intervals of the log to the rollup, in one statement for all of them.

    Each is clipped at its component's creation (a back-dated change may lie before it) and
    cut at tz's local midnights; the pieces are added to component_day by one upsert
    (INSERT ... ON CONFLICT DO UPDATE adding to the stored figures), so the rows are neither
    read first nor locked one by one.
    """
    rows = rollup_rows(intervals, tz=tz)
    if not rows:
        return
    table = ComponentDay.__table__  # type: ignore[attr-defined]
    insert = (
        postgresql.insert(table)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[table.c.component_id, table.c.day],
        set_={name: table.c[name] + insert.excluded[name] for name in _ALL},
    )
    session.execute(stmt, rows)


def add_interval(
    session: Session,
    component: Component,
    status: ComponentStatus,
    *,
    start: datetime | None,
    end: datetime,
    tz: tzinfo,
) -> None:
    """Add one closed interval of the log to the rollup (start None: since creation)."""
    add_intervals(session, [Interval(component, status, start, end)], tz=tz)


def rebuild_rollups(session: Session, *, tz: tzinfo) -> int:
    """Recompute every rollup from the whole log (after a time zone change)."""
    session.execute(sa.delete(ComponentDay))
    created = dict(session.exec(select(Component.id, Component.created_at)).all())
    totals: dict[tuple[str, date], dict[ComponentStatus, int]] = defaultdict(
        lambda: dict.fromkeys(ComponentStatus, 0)
    )
    previous: dict[str, datetime] = {}
    log = select(ComponentStatusChange).order_by(
        col(ComponentStatusChange.component_id),
        col(ComponentStatusChange.effective_at),
        col(ComponentStatusChange.id),
    )
    for change in session.exec(log):
        born = created[change.component_id]
        begin = max(previous.get(change.component_id, born), born)
        for day, us in split_by_day(begin, change.effective_at, tz):
            totals[(change.component_id, day)][change.old_status] += us
        previous[change.component_id] = change.effective_at
    session.add_all(
        ComponentDay(component_id=cid, day=day, **{COLUMNS[s]: us for s, us in spent.items()})
        for (cid, day), spent in totals.items()
    )
    session.flush()
    return len(totals)

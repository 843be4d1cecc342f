"""The daily uptime rollups, kept incrementally from the exact status log.

Between two entries of component_status_change a component sat in one status. When a change is
logged, the interval it closes is cut at the page's local midnights and added to component_day
in the same transaction. The interval still open (the last change to now) is added when
reading, never stored. Reads therefore never scan the log, and a day's figures equal the log's
to the microsecond. Time before a component was created is no data, never negative time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Component, ComponentDay, ComponentStatus, ComponentStatusChange

COLUMNS: dict[ComponentStatus, str] = {s: f"{s.value}_us" for s in ComponentStatus}


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


def add_interval(
    session: Session,
    component: Component,
    status: ComponentStatus,
    *,
    start: datetime | None,
    end: datetime,
    tz: tzinfo,
) -> None:
    """Add one closed interval of the log to the rollup (start None: since creation).

    Clipped at the component's creation: a back-dated change may lie before it.
    """
    begin = max(start or component.created_at, component.created_at)
    pieces = split_by_day(begin, end, tz)
    if not pieces:
        return
    existing = {
        row.day: row
        for row in session.exec(
            select(ComponentDay).where(
                ComponentDay.component_id == component.id,
                col(ComponentDay.day).between(pieces[0][0], pieces[-1][0]),
            )
        )
    }
    column = COLUMNS[status]
    for day, us in pieces:
        row = existing.get(day) or ComponentDay(component_id=component.id, day=day)
        setattr(row, column, getattr(row, column) + us)
        session.add(row)


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

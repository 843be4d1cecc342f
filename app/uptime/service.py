"""Uptime % from the daily rollups (app.uptime.rollups) and the interval still open.

Between two entries of component_status_change a component sat in one status. When a change is
logged, the interval it closes is cut at the page's local midnights and added to component_day
in the same transaction. The interval still open (the last change to now) is added when
reading, never stored. Reads therefore never scan the log, and a day's figures equal the log's
to the microsecond. Time before a component was created is no data, never negative time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import NotFound
from app.models import (
    AffectedComponent,
    Component,
    ComponentDay,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
)
from app.uptime.rollups import COLUMNS, day_start, split_by_day
from app.uptime.schemas import ComponentUptime, DayUptime, UptimeComponent, UptimeWeights

DAYS = 90
US_PER_SECOND = 1_000_000
RANK = {s: n for n, s in enumerate(ComponentStatus)}  # the enum lists statuses best first


@dataclass(frozen=True)
class Weights:
    """How much of the time in each status counts as downtime; maintenance is left out."""

    major_outage: float = 1.0
    partial_outage: float = 0.3
    degraded_performance: float = 0.0


@dataclass(frozen=True)
class DayFigures:
    """One component's microseconds in each status on one local day."""

    day: date
    us: Mapping[ComponentStatus, int]
    has_data: bool  # False before the component existed

    @property
    def worst(self) -> ComponentStatus | None:
        """The worst status the component was in that day (None without data)."""
        seen = [s for s, us in self.us.items() if us > 0]
        return max(seen, key=RANK.__getitem__) if seen else None


@dataclass(frozen=True)
class IncidentRef:
    """An incident that affected a component on some day."""

    id: str
    name: str
    maintenance: bool = False  # a scheduled maintenance (it has its own page), not an incident


def weights_of(settings: Settings) -> Weights:
    """The configured weights (major outage always counts in full)."""
    return Weights(
        partial_outage=settings.uptime_partial_outage_weight,
        degraded_performance=settings.uptime_degraded_weight,
    )


def last_days(now: datetime, tz: tzinfo, count: int = DAYS) -> tuple[date, date]:
    """First and last local day of the `count` days ending today."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=count - 1), today


def uptime_percent(us: Mapping[ComponentStatus, int], weights: Weights) -> float | None:
    """100 * (1 - weighted downtime / time outside maintenance); None without such time."""
    counted = sum(us.values()) - us.get(ComponentStatus.under_maintenance, 0)
    if counted <= 0:
        return None
    down = (
        weights.major_outage * us.get(ComponentStatus.major_outage, 0)
        + weights.partial_outage * us.get(ComponentStatus.partial_outage, 0)
        + weights.degraded_performance * us.get(ComponentStatus.degraded_performance, 0)
    )
    return 100.0 * (1.0 - down / counted)


def period_percent(days: Iterable[DayFigures], weights: Weights) -> float | None:
    """Uptime over several days: their time summed, not their percentages averaged."""
    total = dict.fromkeys(ComponentStatus, 0)
    for figures in days:
        for status, us in figures.us.items():
            total[status] += us
    return uptime_percent(total, weights)


Mark = tuple[datetime, int]  # a component's newest logged change and how many it has


def _change_marks(session: Session, ids: Sequence[str]) -> dict[str, Mark]:
    """Per component: when its status last changed, and how many changes its log holds
    (absent: none since it was created). Its rollup rows change only with its log."""
    rows = session.exec(
        select(
            ComponentStatusChange.component_id,
            sa.func.max(ComponentStatusChange.effective_at),
            sa.func.count(),
        )
        .where(col(ComponentStatusChange.component_id).in_(ids))
        .group_by(col(ComponentStatusChange.component_id))
    ).all()
    return {cid: (last, count) for cid, last, count in rows}


class StoredDays:
    """Stored rollup rows read before, kept by what they depend on.

    A component's component_day rows are written only in the transaction that adds an entry
    to its status log (app.components.service.set_status), so its newest change and the
    number of changes mark every version of them. A re-render after one component's change
    reads the rows of that component (or its group) again, not the other 499. (`pharos uptime
    rebuild` recomputes the same rows from the same log; the process keeps them too.)
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.rows: OrderedDict[tuple[object, ...], dict[date, dict[ComponentStatus, int]]] = (
            OrderedDict()
        )

    def get(self, key: tuple[object, ...]) -> dict[date, dict[ComponentStatus, int]] | None:
        with self.lock:  # renders run in several threads
            found = self.rows.get(key)
            if found is not None:
                self.rows.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], days: dict[date, dict[ComponentStatus, int]]) -> None:
        with self.lock:
            self.rows[key] = days
            while len(self.rows) > self.size:
                self.rows.popitem(last=False)


STORED = StoredDays()


def _stored_key(
    session: Session, row: str, members: Iterable[str], marks: Mapping[str, Mark], span: object
) -> tuple[object, ...]:
    return (
        str(session.get_bind().engine.url),
        row,
        tuple((m, marks.get(m)) for m in sorted(members)),
        span,
    )


def daily_figures(
    session: Session,
    components: Sequence[Component],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    tz: tzinfo,
    kept: StoredDays | None = STORED,
) -> dict[str, list[DayFigures]]:
    """Each component's figures per local day from first_day to last_day, in two queries.

    `kept` None: read them anew and keep nothing (a range a reader chose, which may span years).
    """
    ids = [c.id for c in components]
    if not ids:
        return {}
    stored: dict[tuple[str, date], dict[ComponentStatus, int]] = {}
    statuses = list(COLUMNS)
    marks = _change_marks(session, ids)
    last_change = {cid: mark[0] for cid, mark in marks.items()}
    keys = {cid: _stored_key(session, cid, [cid], marks, (first_day, last_day)) for cid in ids}
    missing = []
    for cid in ids:
        found = kept.get(keys[cid]) if kept is not None else None
        if found is None:
            missing.append(cid)
        else:
            stored.update(((cid, day), spent) for day, spent in found.items())
    # Plain rows, not ORM objects: a large page reads tens of thousands of them.
    table = ComponentDay.__table__  # type: ignore[attr-defined]
    fresh: dict[str, dict[date, dict[ComponentStatus, int]]] = {cid: {} for cid in missing}
    for chunk in _chunks(missing, 500):  # bounded IN lists
        rows = sa.select(
            table.c.component_id, table.c.day, *(table.c[COLUMNS[s]] for s in statuses)
        ).where(table.c.component_id.in_(chunk), table.c.day.between(first_day, last_day))
        for component_id, day, *values in session.execute(rows):
            spent = dict(zip(statuses, values, strict=True))
            stored[(component_id, day)] = spent
            fresh[component_id][day] = spent
    if kept is not None:
        for cid, got in fresh.items():
            kept.put(keys[cid], got)
    out: dict[str, list[DayFigures]] = {}
    span = [first_day + timedelta(days=n) for n in range(1 + (last_day - first_day).days)]
    today = now.astimezone(tz).date()
    window_start = day_start(first_day, tz)
    zero = dict.fromkeys(statuses, 0)
    # Most components last changed before the window: they share one cut of it into days.
    cuts: dict[datetime, dict[date, int]] = {}
    for component in components:
        born = component.created_at.astimezone(tz).date()
        open_since = max(last_change.get(component.id, component.created_at), component.created_at)
        since = max(open_since, window_start)
        still_open = cuts.get(since)
        if still_open is None:
            still_open = cuts[since] = dict(split_by_day(since, now, tz))
        days = []
        for day in span:
            us = dict(stored.get((component.id, day), zero))
            us[component.status] += still_open.get(day, 0)
            days.append(DayFigures(day=day, us=us, has_data=born <= day <= today))
        out[component.id] = days
    return out


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def summed_figures(
    session: Session,
    rows: Mapping[str, Sequence[Component]],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    tz: tzinfo,
) -> dict[str, list[DayFigures]]:
    """Figures per local day of each row's components added up (a group's figures).

    A row is a group id with the group's components, or a component's own id with itself.

    The stored days are summed by the database; the open intervals are added per distinct
    (status, since) pair, so the cost grows with rows and days, not with components.
    """
    row_of = {c.id: row for row, members in rows.items() for c in members}
    if not row_of:
        return {}
    statuses = list(COLUMNS)
    table = ComponentDay.__table__  # type: ignore[attr-defined]
    ids = list(row_of)
    marks = _change_marks(session, ids)
    last_change = {cid: mark[0] for cid, mark in marks.items()}
    keys = {
        row: _stored_key(session, row, [c.id for c in members], marks, (first_day, last_day))
        for row, members in rows.items()
    }
    stored: dict[str, dict[date, dict[ComponentStatus, int]]] = {}
    missing = []
    for row in rows:
        kept = STORED.get(keys[row])
        if kept is None:
            missing.append(row)
        else:
            stored[row] = kept
    for row_ids in _chunks(missing, 200):  # bounded IN lists
        row_key = sa.func.coalesce(col(Component.group_id), col(Component.id))
        member_ids = [c.id for row in row_ids for c in rows[row]]
        query = (
            sa.select(row_key, table.c.day, *(sa.func.sum(table.c[COLUMNS[s]]) for s in statuses))
            .join(Component, col(Component.id) == table.c.component_id)
            .where(table.c.component_id.in_(member_ids), table.c.day.between(first_day, last_day))
            .group_by(row_key, table.c.day)
        )
        fresh: dict[str, dict[date, dict[ComponentStatus, int]]] = {r: {} for r in row_ids}
        for row, day, *values in session.execute(query):
            fresh[row][day] = dict(zip(statuses, map(int, values), strict=True))
        for row, got in fresh.items():
            STORED.put(keys[row], got)
            stored[row] = got
    window_start = day_start(first_day, tz)
    cuts: dict[datetime, list[tuple[date, int]]] = {}
    today = now.astimezone(tz).date()
    span = [first_day + timedelta(days=n) for n in range(1 + (last_day - first_day).days)]
    out: dict[str, list[DayFigures]] = {}
    for row, members in rows.items():
        open_counts: dict[tuple[ComponentStatus, datetime], int] = defaultdict(int)
        born = min((c.created_at.astimezone(tz).date() for c in members), default=today)
        for c in members:
            since = max(last_change.get(c.id, c.created_at), c.created_at, window_start)
            open_counts[(c.status, since)] += 1
        # The days before today are the same until a member's log (its marks, in the row's
        # stored key) or status changes, or the day ends: only today's figures move with now.
        past_key = (keys[row], tuple(sorted(open_counts.items())), born, today, str(tz))
        past = PAST.get(past_key) if last_day == today else None
        days = span if past is None else span[len(past) :]
        row_days = stored[row]
        sums = {day: dict(row_days.get(day) or dict.fromkeys(statuses, 0)) for day in days}
        for (status, since), count in open_counts.items():
            if since not in cuts:
                cuts[since] = split_by_day(since, now, tz)
            for day, us in cuts[since]:
                if day in sums:
                    sums[day][status] += us * count
        figures = [DayFigures(day=day, us=sums[day], has_data=born <= day <= today) for day in days]
        if past is None:
            if last_day == today and figures:
                row_name = (keys[row][0], row, first_day, str(tz))
                PAST.put(row_name, past_key, tuple(figures[:-1]))
            out[row] = figures
        else:
            out[row] = [*past, *figures]
    return out


class _PastDays:
    """A row's figures of the days before today, by what they were summed from."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.rows: OrderedDict[tuple[object, ...], tuple[DayFigures, ...]] = OrderedDict()
        self.latest: dict[object, tuple[object, ...]] = {}

    def get(self, key: tuple[object, ...]) -> tuple[DayFigures, ...] | None:
        with self.lock:  # renders run in several threads
            found = self.rows.get(key)
            if found is not None:
                self.rows.move_to_end(key)
        return found

    def put(self, name: object, key: tuple[object, ...], days: tuple[DayFigures, ...]) -> None:
        """Keep a row's past days; `name` is the row (its older days are of no more use)."""
        with self.lock:
            older = self.latest.get(name)
            if older is not None and older != key:
                self.rows.pop(older, None)
            self.latest[name] = key
            self.rows[key] = days
            while len(self.rows) > self.size:
                evicted, _ = self.rows.popitem(last=False)
                for stale in [n for n, k in self.latest.items() if k == evicted]:
                    del self.latest[stale]


PAST = _PastDays(1024)


def incidents_by_day(
    session: Session,
    component_ids: Sequence[str],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    tz: tzinfo,
) -> dict[tuple[str, date], list[IncidentRef]]:
    """Incidents that affected each component on each local day they were open, in one query."""
    if not component_ids:
        return {}
    lower, upper = day_start(first_day, tz), day_start(last_day + timedelta(days=1), tz)
    # A maintenance touches its components from its window's start, not from when it was
    # announced (its started_at, as on Statuspage).
    start = sa.func.coalesce(col(Incident.scheduled_for), col(Incident.started_at))
    found = session.execute(
        sa.select(
            col(AffectedComponent.component_id),
            col(Incident.id),
            col(Incident.name),
            start,
            col(Incident.resolved_at),
            col(Incident.scheduled_for).is_not(None),
        )
        .join(IncidentUpdate, col(IncidentUpdate.id) == col(AffectedComponent.incident_update_id))
        .join(Incident, col(Incident.id) == col(IncidentUpdate.incident_id))
        .where(
            # For many components, start from the incidents open in the window (a subquery,
            # so the database reads incidents first, not every affected-component row).
            col(AffectedComponent.component_id).in_(component_ids)
            if len(component_ids) <= 50
            else col(Incident.id).in_(
                sa.select(col(Incident.id)).where(
                    start < upper,
                    sa.or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= lower),
                )
            ),
            start < upper,
            sa.or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= lower),
        )
        .distinct()
        .order_by(start, col(Incident.id))
    ).all()
    out: dict[tuple[str, date], list[IncidentRef]] = defaultdict(list)
    wanted = set(component_ids)
    for component_id, incident_id, name, started_at, resolved_at, maintenance in found:
        if component_id not in wanted:
            continue
        day = max(started_at.astimezone(tz).date(), first_day)
        until = min((resolved_at or now).astimezone(tz).date(), last_day)
        while day <= until:
            ref = IncidentRef(id=incident_id, name=name, maintenance=bool(maintenance))
            out[(component_id, day)].append(ref)
            day += timedelta(days=1)
    return dict(out)


@dataclass(frozen=True)
class History:
    """Daily figures and incidents of some components over some days."""

    figures: dict[str, list[DayFigures]]
    incidents: dict[tuple[str, date], list[IncidentRef]]


def load_history(
    session: Session,
    components: Sequence[Component],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    tz: tzinfo,
) -> History:
    """Figures and incidents per component and day: three queries, however many components."""
    ids = [c.id for c in components]
    return History(
        figures=daily_figures(
            session, components, first_day=first_day, last_day=last_day, now=now, tz=tz
        ),
        incidents=incidents_by_day(
            session, ids, first_day=first_day, last_day=last_day, now=now, tz=tz
        ),
    )


def uptime_component(session: Session, component_id: str) -> Component:
    """A component that has uptime figures, or NotFound (groups have none of their own)."""
    component = session.get(Component, component_id)
    if component is None:
        raise NotFound(f"component {component_id!r} does not exist")
    if component.is_group:
        raise NotFound(f"{component_id!r} is a group; uptime is kept for its components")
    return component


def component_uptime(
    session: Session,
    component_id: str,
    *,
    settings: Settings,
    now: datetime,
    span: tuple[date, date] | None = None,
) -> ComponentUptime:
    """One component's daily figures over the last 90 days (or the days of `span`, both
    included), for the JSON API."""
    component = uptime_component(session, component_id)
    weights = weights_of(settings)
    first, last = span or last_days(now, settings.tz)
    days = daily_figures(
        session,
        [component],
        first_day=first,
        last_day=last,
        now=now,
        tz=settings.tz,
        kept=STORED if span is None else None,
    )[component.id]
    total = period_percent(days, weights)
    return ComponentUptime(
        component=UptimeComponent(id=component.id, name=component.name),
        time_zone=settings.timezone,
        weights=UptimeWeights(
            major_outage=weights.major_outage,
            partial_outage=weights.partial_outage,
            degraded_performance=weights.degraded_performance,
        ),
        uptime_percent=None if total is None else round(total, 4),
        days=[_day_uptime(d, weights) for d in days],
    )


def _day_uptime(figures: DayFigures, weights: Weights) -> DayUptime:
    percent = uptime_percent(figures.us, weights)
    return DayUptime(
        date=figures.day,
        seconds={s: us / US_PER_SECOND for s, us in figures.us.items()},
        uptime_percent=None if percent is None else round(percent, 4),
    )

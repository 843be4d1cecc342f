"""Uptime over any range of days: totals, years and months per component and group.

Built on the daily rollups (app.uptime.rollups): the database sums each component's stored days
per month of the page's time zone (one GROUP BY, so ten years of 500 components come back as
60,000 rows, not 1.8 million), and the interval still open (the last change to now) is cut at
local midnights and added, as app.uptime.service does for the bars. Years and the whole range
are sums of months, and a group's figures the sum of its components': time is summed, never
percentages averaged. Days are the page's local days, so a month across a DST change has its
23- or 25-hour day.

Nothing here is kept between calls: a range is read when asked for, so an address per range
can't fill memory (the render cache doesn't keep them either; see app.web.uptime_range).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from app.errors import InvalidInput, TooManyRequests
from app.i18n import _
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

DEFAULT_MONTHS = 3  # no range asked for: this month and the two before (the /uptime/ page)
MAX_YEARS = 10
MAX_DAYS = 3653  # ten years, leap days included
EARLIEST = date(1970, 1, 1)
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Month = tuple[int, int]  # (year, month)
Spent = dict[ComponentStatus, int]  # microseconds in each status


@dataclass(frozen=True)
class DateRange:
    """Local days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        """How many days the range holds."""
        return (self.last - self.first).days + 1

    def query(self) -> str:
        """The range as the query string that asks for it."""
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month `back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def default_range(today: date) -> DateRange:
    """What /uptime/ shows without a range: this month and the two before it, to today."""
    return DateRange(month_start(today, DEFAULT_MONTHS - 1), today)


def _parse_day(raw: str, name: str) -> date:
    value = raw.strip()
    if ISO_DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(
        _("%(name)s must be a date written YYYY-MM-DD, such as 2025-09-07; got %(value)s")
        % {"name": name, "value": repr(raw[:40])}
    )


# A day in a query, as the document says it (empty is the same as left out, as forms send it).
DAY_OR_EMPTY: dict[str, Any] = {"pattern": r"^(\d{4}-\d{2}-\d{2})?$"}
# What parse_range refuses of two well-formed days, for the OpenAPI document's 422.
RANGE_RULES = (
    "a to without a from",
    "a day that is not in the calendar (2025-02-30)",
    "a from before 1970 or after today",
    "a to before from",
    "a range longer than ten years",
)


def parse_range(raw_from: str | None, raw_to: str | None, *, today: date) -> DateRange | None:
    """The range a reader asked for (`from` and `to`, YYYY-MM-DD, both included), or None for
    the default. `to` alone is refused; `from` alone runs to today; a `to` past today is cut
    at today (the figures end there). Raises InvalidInput with a message a reader can act on."""
    if not raw_from and not raw_to:
        return None
    if not raw_from:
        raise InvalidInput(_("Give the first day of the range as well (from=YYYY-MM-DD)."))
    first = _parse_day(raw_from, "from")
    last = _parse_day(raw_to, "to") if raw_to else today
    if first < EARLIEST:
        raise InvalidInput(
            _("The range can't start before %(day)s.") % {"day": EARLIEST.isoformat()}
        )
    if first > today:
        raise InvalidInput(
            _("The range starts after today (%(today)s): there are no figures yet.")
            % {"today": today.isoformat()}
        )
    if last < first:
        raise InvalidInput(
            _("The range ends (%(to)s) before it starts (%(from)s).")
            % {"to": last.isoformat(), "from": first.isoformat()}
        )
    last = min(last, today)
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            _("The range is longer than %(years)d years; ask for at most %(days)d days.")
            % {"years": MAX_YEARS, "days": MAX_DAYS}
        )
    return DateRange(first, last)


@dataclass(frozen=True)
class Period:
    """One component's (or group's) figures over some days."""

    key: str  # "2025-09", "2025", or the range "2025-01-01/2025-12-31"
    first: date
    last: date
    us: Mapping[ComponentStatus, int]
    incidents: int

    @property
    def has_data(self) -> bool:
        """Whether the component existed during any of these days."""
        return any(self.us.values())


@dataclass(frozen=True)
class RangeRow:
    """A component or a group over the range: the whole, each year and each month of it."""

    id: str
    name: str
    is_group: bool
    group_id: str | None
    total: Period
    years: list[Period]
    months: list[Period]


@dataclass(frozen=True)
class RangeReport:
    """Rows in page order (a group before its components) over one range."""

    range: DateRange
    rows: list[RangeRow]


def months_of(span: DateRange) -> list[Month]:
    """Every (year, month) the range touches, oldest first."""
    out = []
    cursor = month_start(span.first)
    while cursor <= span.last:
        out.append((cursor.year, cursor.month))
        cursor = month_start(cursor, -1)
    return out


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored_months(
    session: Session, ids: Sequence[str], span: DateRange
) -> dict[tuple[str, Month], Spent]:
    """Each component's stored (closed) time per local month, summed by the database."""
    table = ComponentDay.__table__  # type: ignore[attr-defined]
    statuses = list(COLUMNS)
    # "YYYY-MM" of each day: SQLite keeps dates as ISO text, so a prefix (a third quicker than
    # strftime); PostgreSQL formats its dates.
    if session.get_bind().dialect.name == "sqlite":
        month = sa.func.substr(table.c.day, 1, 7)
    else:
        month = sa.func.to_char(table.c.day, "YYYY-MM")
    out: dict[tuple[str, Month], Spent] = {}
    for chunk in _chunks(ids, 500):  # bounded IN lists
        query = (
            sa.select(
                table.c.component_id, month, *(sa.func.sum(table.c[COLUMNS[s]]) for s in statuses)
            )
            .where(table.c.component_id.in_(chunk), table.c.day.between(span.first, span.last))
            .group_by(table.c.component_id, month)
        )
        for component_id, key, *values in session.execute(query):
            year, number = str(key).split("-")
            out[(component_id, (int(year), int(number)))] = dict(
                zip(statuses, map(int, values), strict=True)
            )
    return out


def _last_changes(session: Session, ids: Sequence[str]) -> dict[str, datetime]:
    """When each component's status last changed (absent: never since it was created)."""
    out: dict[str, datetime] = {}
    for chunk in _chunks(ids, 500):
        rows = session.execute(
            sa.select(
                col(ComponentStatusChange.component_id),
                sa.func.max(col(ComponentStatusChange.effective_at)),
            )
            .where(col(ComponentStatusChange.component_id).in_(chunk))
            .group_by(col(ComponentStatusChange.component_id))
        )
        out.update((cid, last) for cid, last in rows)
    return out


def _incident_months(
    session: Session, ids: Sequence[str], span: DateRange, *, now: datetime, tz: tzinfo
) -> dict[str, dict[str, set[Month]]]:
    """component id -> incident id -> the months of the range it was open in.

    Incidents only: a scheduled maintenance is planned work, not counted.
    """
    lower, upper = day_start(span.first, tz), day_start(span.last + timedelta(days=1), tz)
    out: dict[str, dict[str, set[Month]]] = defaultdict(dict)
    for chunk in _chunks(ids, 500):
        found = session.execute(
            sa.select(
                col(AffectedComponent.component_id),
                col(Incident.id),
                col(Incident.started_at),
                col(Incident.resolved_at),
            )
            .join(
                IncidentUpdate, col(IncidentUpdate.id) == col(AffectedComponent.incident_update_id)
            )
            .join(Incident, col(Incident.id) == col(IncidentUpdate.incident_id))
            .where(
                col(AffectedComponent.component_id).in_(chunk),
                col(Incident.scheduled_for).is_(None),
                col(Incident.started_at) < upper,
                sa.or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= lower),
            )
            .distinct()
        )
        for component_id, incident_id, started_at, resolved_at in found:
            begin = max(started_at.astimezone(tz).date(), span.first)
            end = min((resolved_at or now).astimezone(tz).date(), span.last)
            months: set[Month] = set()
            cursor = month_start(begin)
            while cursor <= end:
                months.add((cursor.year, cursor.month))
                cursor = month_start(cursor, -1)
            out[component_id].setdefault(incident_id, set()).update(months)
    return out


def _add(into: dict[ComponentStatus, int], spent: Mapping[ComponentStatus, int]) -> None:
    for status, us in spent.items():
        into[status] += us


STATUSES = tuple(ComponentStatus)


def _zero() -> Spent:
    return dict.fromkeys(STATUSES, 0)


def range_report(
    session: Session,
    rows: Sequence[tuple[Component, Sequence[Component]]],
    span: DateRange,
    *,
    names: Mapping[str, str],
    now: datetime,
    tz: tzinfo,
) -> RangeReport:
    """Figures of each row over `span`: a row is a component with itself as its only member,
    or a group with its members. Five queries at most per 500 components, whatever the range."""
    members = {c.id: c for _row, group in rows for c in group}
    ids = list(members)
    stored = _stored_months(session, ids, span)
    last_change = _last_changes(session, ids)
    incidents = _incident_months(session, ids, span, now=now, tz=tz)
    window_start, window_end = day_start(span.first, tz), day_start(span.last + timedelta(1), tz)
    end = min(now, window_end)
    cuts: dict[datetime, dict[Month, int]] = {}  # components share cuts of the open interval
    per_component: dict[str, dict[Month, Spent]] = {}
    for cid, component in members.items():
        months: dict[Month, Spent] = defaultdict(_zero)
        since = max(last_change.get(cid, component.created_at), component.created_at, window_start)
        if since < end:
            if since not in cuts:
                cut: dict[Month, int] = defaultdict(int)
                for day, us in split_by_day(since, end, tz):
                    cut[(day.year, day.month)] += us
                cuts[since] = cut
            for month, us in cuts[since].items():
                months[month][component.status] += us
        per_component[cid] = months
    for (cid, month), spent in stored.items():
        _add(per_component[cid][month], spent)
    calendar = months_of(span)
    out = []
    for row, group in rows:
        spent_by_month: dict[Month, Spent] = defaultdict(_zero)
        seen: dict[str, set[Month]] = defaultdict(set)
        for c in group:
            for month, spent in per_component[c.id].items():
                _add(spent_by_month[month], spent)
            for incident_id, open_in in incidents.get(c.id, {}).items():
                seen[incident_id] |= open_in
        out.append(_row(row, names, calendar, span, spent_by_month, seen))
    return RangeReport(range=span, rows=out)


def _row(
    row: Component,
    names: Mapping[str, str],
    calendar: Sequence[Month],
    span: DateRange,
    spent: Mapping[Month, Spent],
    seen: Mapping[str, set[Month]],
) -> RangeRow:
    def period(key: str, wanted: Sequence[Month]) -> Period:
        total = _zero()
        for month in wanted:
            _add(total, spent.get(month, {}))
        chosen = set(wanted)
        count = sum(1 for months in seen.values() if months & chosen)
        first_month, last_month = wanted[0], wanted[-1]
        first = max(span.first, date(first_month[0], first_month[1], 1))
        last = min(span.last, month_start(date(last_month[0], last_month[1], 1), -1) - timedelta(1))
        return Period(key=key, first=first, last=last, us=total, incidents=count)

    years: dict[int, list[Month]] = defaultdict(list)
    for month in calendar:
        years[month[0]].append(month)
    return RangeRow(
        id=row.id,
        name=names.get(row.id, row.name),
        is_group=row.is_group,
        group_id=row.group_id,
        total=period(f"{span.first.isoformat()}/{span.last.isoformat()}", calendar),
        years=[period(str(y), months) for y, months in years.items()],
        months=[period(f"{y:04d}-{m:02d}", [(y, m)]) for y, m in calendar],
    )


def showcased_rows(
    listed: Sequence[Component], everything: Sequence[Component]
) -> list[tuple[Component, list[Component]]]:
    """Rows for showcased components in page order: each group (over its showcased
    components) before the first of them, then each component by itself."""
    groups = {c.id: c for c in everything if c.is_group}
    members: dict[str, list[Component]] = defaultdict(list)
    for c in listed:
        if c.group_id in groups:
            members[c.group_id].append(c)
    out: list[tuple[Component, list[Component]]] = []
    placed: set[str] = set()
    for c in listed:
        gid = c.group_id
        if gid and gid in groups and gid not in placed:
            placed.add(gid)
            out.append((groups[gid], members[gid]))
        out.append((c, [c]))
    return out


READS_AT_ONCE = 2  # ranges read at the same time in this process; more wait, then get 429
_slots = threading.BoundedSemaphore(READS_AT_ONCE)


@contextmanager
def reading_slot(wait_seconds: float = 1.0) -> Iterator[None]:
    """Hold one of the few slots for reading a range (none of them is cached, so many readers
    asking for years at once must not all be answered at once). TooManyRequests if none frees
    up within `wait_seconds`."""
    if not _slots.acquire(timeout=wait_seconds):
        raise TooManyRequests(
            _("Too many uptime ranges are being read right now; try again in a few seconds."),
            retry_after=2,
        )
    try:
        yield
    finally:
        _slots.release()

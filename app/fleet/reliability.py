"""The reliability figure of the UK Public Charge Point Regulations 2023 (SI 2023/1168),
regulation 7, computed from the EVSE status history.

- Only rapid charge points count: a power of 50 kW or above (regulation 2).
- An EVSE is reliable while its OCPI 2.2.1 status is AVAILABLE, CHARGING or RESERVED
  ("working"), or UNKNOWN or BLOCKED ("ineligible for measurement", which the regulation
  counts as reliable) (7(3)); it is not reliable while INOPERATIVE or OUTOFORDER (7(4)).
- PLANNED and REMOVED EVSEs are not (yet, or any more) in the network: that time is not
  measured; neither is time before an EVSE was first seen, nor the operator's recorded
  exclusions.
- A charger whose site is open only at some hours is measured only in those hours (7(5)),
  from its OCPI Location's opening_times (app.fleet.hours).
- The network's figure is the average of its rapid EVSEs' percentages ("on average", 7(2)),
  over a calendar year of the page's time zone or any range of days. Durations are real
  elapsed time, so a day with a DST change is 23 or 25 hours long.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.db import get_one
from app.errors import InvalidInput
from app.fleet import hours
from app.fleet.config import AreaRule
from app.fleet.rollup import matches
from app.models import EvseStatusChange, FleetEvse, FleetLocation, ReliabilityExclusion

RAPID_KW = 50.0
RELIABLE = frozenset({"AVAILABLE", "CHARGING", "RESERVED", "UNKNOWN", "BLOCKED"})
NOT_RELIABLE = frozenset({"INOPERATIVE", "OUTOFORDER"})
REASONS = (
    "vandalism",
    "grid_outage",
    "extreme_weather",
    "third_party_damage",
    "site_access",
    "other_outside_control",
)


@dataclass(frozen=True)
class Window:
    """A measurement period: [start, end) in UTC, with the days it was asked as."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date


def window(first_day: date, last_day: date, tz: tzinfo) -> Window:
    """The days first_day..last_day (inclusive) of the page's time zone."""
    if last_day < first_day:
        raise ValueError("the range ends before it starts")
    # In UTC: Python subtracts two times of one zone as wall-clock times, which would make
    # every DST day 24 hours long.
    start = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return Window(start, end, first_day, last_day)


def year_window(year: int, tz: tzinfo) -> Window:
    """One calendar year of the page's time zone."""
    return window(date(year, 1, 1), date(year, 12, 31), tz)


def asked_window(
    tz: tzinfo, now: datetime, year: int | None, start: date | None, end: date | None
) -> Window:
    """The period asked for: a calendar year, a range of days, or this year so far; never
    past `now` (what has not happened yet is not measured)."""
    found = _asked(tz, now, year, start, end)
    if found.start >= now:
        raise InvalidInput("that period has not begun yet")
    return Window(found.start, min(found.end, now), found.first_day, found.last_day)


def _asked(
    tz: tzinfo, now: datetime, year: int | None, start: date | None, end: date | None
) -> Window:
    if year is not None and (start or end):
        raise InvalidInput("give a year, or start and end, not both")
    if year is not None:
        return year_window(year, tz)
    if start is None and end is None:
        return year_window(now.astimezone(tz).year, tz)
    if start is None or end is None:
        raise InvalidInput("give both start and end (dates, inclusive)")
    if end < start:
        raise InvalidInput("end is before start")
    if (end - start).days > 3660:
        raise InvalidInput("a range of at most ten years")
    return window(start, end, tz)


@dataclass
class EvseFigure:
    """One EVSE's measured, reliable and excluded time in the window."""

    peer: str
    location_id: str
    uid: str
    evse_id: str | None
    power_kw: float | None
    reliable_s: float = 0.0
    unreliable_s: float = 0.0
    excluded_s: float = 0.0  # not-reliable time taken out by an exclusion

    @property
    def measured_s(self) -> float:
        """Time that counts."""
        return self.reliable_s + self.unreliable_s

    @property
    def reliability(self) -> float | None:
        """Share of measured time reliable (None when nothing was measured)."""
        return self.reliable_s / self.measured_s if self.measured_s else None


@dataclass
class Figure:
    """A network's or an area's figure: the average of its EVSEs'."""

    name: str
    evses: list[EvseFigure] = field(default_factory=list)

    @property
    def measured(self) -> list[EvseFigure]:
        """EVSEs with measured time in the window."""
        return [e for e in self.evses if e.reliability is not None]

    @property
    def reliability(self) -> float | None:
        """The regulation's figure: mean of the EVSEs' reliability."""
        found = [e.reliability for e in self.measured if e.reliability is not None]
        return sum(found) / len(found) if found else None

    @property
    def meets_duty(self) -> bool | None:
        """At least 99%."""
        value = self.reliability
        return None if value is None else value >= 0.99


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _excluded_within(
    start: datetime, end: datetime, periods: list[tuple[datetime, datetime]]
) -> float:
    """Seconds of [start, end) covered by the (merged) exclusion periods."""
    return sum(_overlap(start, end, p0, p1) for p0, p1 in periods)


def _merge(periods: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for p0, p1 in sorted(periods):
        if merged and p0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], p1))
        else:
            merged.append((p0, p1))
    return merged


def _open_within(
    begin: datetime, until: datetime, opened: list[hours.Period] | None
) -> list[hours.Period]:
    """The parts of [begin, until) the site is open (all of it when always open)."""
    if opened is None:
        return [(begin, until)]
    first = max(0, bisect_right(opened, (begin, begin)) - 1)
    found = []
    for o0, o1 in opened[first:]:
        if o0 >= until:
            break
        if o1 > begin:
            found.append((max(o0, begin), min(o1, until)))
    return found


def measure(
    evse: FleetEvse,
    changes: list[tuple[datetime, str]],
    exclusions: list[tuple[datetime, datetime]],
    win: Window,
    opened: list[hours.Period] | None = None,
) -> EvseFigure:
    """One EVSE's figure from its status history (sorted (at, status) pairs), measured only
    while its site is open (`opened`, merged; None: always)."""
    figure = EvseFigure(evse.peer, evse.location_id, evse.uid, evse.evse_id, evse.max_power_kw)
    periods = _merge(exclusions)
    times = [at for at, _ in changes]
    # The status in force at the window's start, then each change inside it.
    first = bisect_right(times, win.start) - 1
    segments: list[tuple[datetime, str]] = []
    if first >= 0:
        segments.append((win.start, changes[first][1]))
    segments += [(at, status) for at, status in changes[first + 1 :] if at < win.end]
    for n, (at, status) in enumerate(segments):
        until = segments[n + 1][0] if n + 1 < len(segments) else win.end
        begin = max(at, win.start)
        if until <= begin:
            continue
        for part_begin, part_end in _open_within(begin, until, opened):
            span = (part_end - part_begin).total_seconds()
            excluded = _excluded_within(part_begin, part_end, periods)
            if status in RELIABLE:
                figure.reliable_s += span - excluded
            elif status in NOT_RELIABLE:
                figure.unreliable_s += span - excluded
                figure.excluded_s += excluded
    return figure


def report(
    session: Session,
    win: Window,
    *,
    areas: list[AreaRule],
    rapid_kw: float = RAPID_KW,
    tz: tzinfo = UTC,
) -> tuple[Figure, list[Figure]]:
    """The network's figure and each area's, for rapid EVSEs (regular opening hours of a
    location without an OCPI time_zone are taken in `tz`, the page's)."""
    evses = [
        e
        for e in session.exec(select(FleetEvse).order_by(col(FleetEvse.id)))
        if e.max_power_kw is not None and e.max_power_kw >= rapid_kw
    ]
    ids = [e.id for e in evses if e.id is not None]
    history: dict[int, list[tuple[datetime, str]]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(
            select(EvseStatusChange.evse_id, EvseStatusChange.at, EvseStatusChange.status)
            .where(col(EvseStatusChange.evse_id).in_(ids))
            .where(col(EvseStatusChange.at) < win.end)
            .order_by(
                col(EvseStatusChange.evse_id), col(EvseStatusChange.at), col(EvseStatusChange.id)
            )
        )
        for evse_id, at, status in rows:
            history[evse_id].append((at, status))
    exclusions = list(
        session.exec(
            select(ReliabilityExclusion)
            .where(col(ReliabilityExclusion.starts_at) < win.end)
            .where(col(ReliabilityExclusion.ends_at) > win.start)
        )
    )
    locations = {(loc.peer, loc.id): loc for loc in session.exec(select(FleetLocation))}
    opened = {
        key: hours.open_periods(loc.opening_times, win.start, win.end, tz)
        for key, loc in locations.items()
    }
    network = Figure("network")
    per_area = [Figure(a.name) for a in areas]
    for evse in evses:
        assert evse.id is not None
        mine = [
            (x.starts_at, x.ends_at)
            for x in exclusions
            if (x.peer is None or x.peer == evse.peer)
            and (x.location_id is None or x.location_id == evse.location_id)
            and (x.evse_uid is None or x.evse_uid == evse.uid)
        ]
        key = (evse.peer, evse.location_id)
        figure = measure(evse, history[evse.id], mine, win, opened.get(key))
        network.evses.append(figure)
        location = locations.get(key)
        for rule, area_figure in zip(areas, per_area, strict=True):
            if location is not None and matches(rule, location):
                area_figure.evses.append(figure)
    return network, per_area


def as_json(win: Window, network: Figure, areas: list[Figure]) -> dict[str, object]:
    """The report as the JSON export and the staff API give it."""

    def block(figure: Figure) -> dict[str, object]:
        value = figure.reliability
        return {
            "name": figure.name,
            "reliability_percent": None if value is None else round(value * 100, 4),
            "meets_99_percent": figure.meets_duty,
            "rapid_chargers": len(figure.evses),
            "measured_chargers": len(figure.measured),
        }

    return {
        "from": win.first_day.isoformat(),
        "to": win.last_day.isoformat(),
        "definition": "UK Public Charge Point Regulations 2023 (SI 2023/1168), regulation 7",
        "network": block(network),
        "areas": [block(a) for a in areas],
    }


def as_csv_rows(network: Figure) -> list[list[str]]:
    """One row per rapid EVSE (the CSV export), then the network's average."""
    rows = [
        [
            "location_id",
            "evse_uid",
            "evse_id",
            "power_kw",
            "reliable_hours",
            "not_reliable_hours",
            "excluded_hours",
            "reliability_percent",
        ]
    ]
    for e in network.evses:
        value = e.reliability
        rows.append(
            [
                e.location_id,
                e.uid,
                e.evse_id or "",
                f"{e.power_kw:g}" if e.power_kw is not None else "",
                f"{e.reliable_s / 3600:.4f}",
                f"{e.unreliable_s / 3600:.4f}",
                f"{e.excluded_s / 3600:.4f}",
                "" if value is None else f"{value * 100:.4f}",
            ]
        )
    value = network.reliability
    rows.append(["network", "", "", "", "", "", "", "" if value is None else f"{value * 100:.4f}"])
    return rows


def add_exclusion(
    session: Session, exclusion: ReliabilityExclusion, *, actor: str, now: datetime
) -> ReliabilityExclusion:
    """Record an exclusion (audited)."""
    exclusion.created_by, exclusion.created_at = actor, now
    session.add(exclusion)
    session.flush()
    data = {
        "peer": exclusion.peer,
        "location_id": exclusion.location_id,
        "evse_uid": exclusion.evse_uid,
        "starts_at": exclusion.starts_at.isoformat(),
        "ends_at": exclusion.ends_at.isoformat(),
        "reason": exclusion.reason,
    }
    audit.record(session, actor, "reliability_exclusion.created", exclusion.id, at=now, data=data)
    return exclusion


def get_exclusion(session: Session, exclusion_id: str) -> ReliabilityExclusion:
    """One exclusion; NotFound when there is none."""
    return get_one(session, ReliabilityExclusion, exclusion_id, "exclusion")


def delete_exclusion(session: Session, exclusion_id: str, *, actor: str, now: datetime) -> None:
    """Remove an exclusion (audited); NotFound when there is none."""
    found = get_exclusion(session, exclusion_id)
    session.delete(found)
    audit.record(session, actor, "reliability_exclusion.deleted", exclusion_id, at=now)
    session.flush()


def list_exclusions(session: Session) -> list[ReliabilityExclusion]:
    """Every exclusion, oldest first."""
    stmt = select(ReliabilityExclusion).order_by(col(ReliabilityExclusion.starts_at))
    return list(session.exec(stmt))

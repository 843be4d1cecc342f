"""When a site is open, from its OCPI 2.2.1 Location opening_times (the Hours object, section
8.4.14): twentyfourseven, or regular_hours per weekday (1 = Monday .. 7 = Sunday, local time
of the Location's time_zone), with exceptional_openings and exceptional_closings (UTC
DateTimes) on top.

Regulation 7(5) of the Public Charge Point Regulations 2023: "Where a rapid charge point can
be accessed only during specific hours, reliability is to be assessed only by reference to
those hours." So the reliability report measures a charger only while its site is open.

A period whose end is not after its begin runs past midnight (22:00-06:00); "24:00" ends at
midnight. Local times are turned into UTC day by day, so a period on a DST day is as long as
it really is.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Period = tuple[datetime, datetime]  # [begin, end) in UTC
_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


def location_zone(opening_times: dict[str, Any] | None, default: tzinfo) -> tzinfo:
    """The zone a location's regular hours are in (its OCPI time_zone, else `default`)."""
    name = (opening_times or {}).get("time_zone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return default
    return default


def always_open(opening_times: dict[str, Any] | None) -> bool:
    """Whether the site is open at all hours (no hours given counts as open: nothing says
    otherwise)."""
    if not opening_times:
        return True
    if opening_times.get("twentyfourseven") is True:
        closings = opening_times.get("exceptional_closings")
        return not closings
    return not (
        opening_times.get("regular_hours")
        or opening_times.get("exceptional_openings")
        or opening_times.get("exceptional_closings")
    )


def _clock(value: Any) -> tuple[int, int] | None:
    found = _CLOCK.match(value) if isinstance(value, str) else None
    if found is None:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    return None if hour == 24 and minute else (hour, minute)


def _at(day: date, clock: tuple[int, int], zone: tzinfo) -> datetime:
    hour, minute = clock
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def _exceptional(items: Any) -> list[Period]:
    found: list[Period] = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        try:
            begin = datetime.fromisoformat(str(item.get("period_begin")).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(item.get("period_end")).replace("Z", "+00:00"))
        except ValueError:
            continue
        begin = begin if begin.tzinfo else begin.replace(tzinfo=UTC)
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
        if end > begin:
            found.append((begin.astimezone(UTC), end.astimezone(UTC)))
    return found


def merge(periods: list[Period]) -> list[Period]:
    """Sorted, overlapping or touching periods joined."""
    merged: list[Period] = []
    for begin, end in sorted(periods):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def subtract(periods: list[Period], holes: list[Period]) -> list[Period]:
    """`periods` less `holes` (both merged)."""
    found: list[Period] = []
    for begin, end in periods:
        pieces = [(begin, end)]
        for h0, h1 in holes:
            pieces = [
                piece
                for p0, p1 in pieces
                for piece in ((p0, min(p1, h0)), (max(p0, h1), p1))
                if piece[1] > piece[0]
            ]
        found.extend(pieces)
    return found


def open_periods(
    opening_times: dict[str, Any] | None, start: datetime, end: datetime, default: tzinfo
) -> list[Period] | None:
    """When the site is open within [start, end), merged; None when it is always open."""
    if always_open(opening_times):
        return None
    assert opening_times is not None
    zone = location_zone(opening_times, default)
    periods: list[Period] = []
    if opening_times.get("twentyfourseven") is True:
        periods.append((start, end))
    else:
        regular = [
            (r.get("weekday"), _clock(r.get("period_begin")), _clock(r.get("period_end")))
            for r in opening_times.get("regular_hours") or []
            if isinstance(r, dict)
        ]
        day = start.astimezone(zone).date() - timedelta(days=1)  # a night from the day before
        last = end.astimezone(zone).date()
        while day <= last:
            for weekday, begin, finish in regular:
                if weekday != day.isoweekday() or begin is None or finish is None:
                    continue
                opens, closes = _at(day, begin, zone), _at(day, finish, zone)
                if closes <= opens:  # past midnight
                    closes = _at(day + timedelta(days=1), finish, zone)
                periods.append((opens, closes))
            day += timedelta(days=1)
    periods += _exceptional(opening_times.get("exceptional_openings"))
    found = subtract(merge(periods), merge(_exceptional(opening_times.get("exceptional_closings"))))
    return [(max(b, start), min(e, end)) for b, e in found if e > start and b < end]

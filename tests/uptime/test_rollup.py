"""Uptime arithmetic on a real database: the daily rollup against the exact status log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.components import service as components
from app.config import Settings
from app.db import unit_of_work
from app.models import Component, ComponentDay, ComponentStatus
from app.uptime import rollups
from app.uptime import service as uptime

OSLO = ZoneInfo("Europe/Oslo")
OK = ComponentStatus.operational
MAINT = ComponentStatus.under_maintenance
DEGRADED = ComponentStatus.degraded_performance
PARTIAL = ComponentStatus.partial_outage
MAJOR = ComponentStatus.major_outage
HOUR = 3600


def oslo(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A wall-clock time in Oslo, as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=OSLO).astimezone(UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated test database."""
    with unit_of_work(engine) as session:
        yield session


def new_component(session: Session, created_at: datetime, name: str = "OCPP") -> Component:
    """A component created (operational) at a given time."""
    component = Component(name=name, created_at=created_at, updated_at=created_at)
    session.add(component)
    session.commit()
    return component


def change(
    session: Session,
    component: Component,
    status: ComponentStatus,
    at: datetime,
    *,
    recorded: datetime | None = None,
) -> None:
    """Log a status change effective at `at` (recorded then, or later when back-dated)."""
    components.change_status(
        session, component, status, now=recorded or at, effective_at=at, tz=OSLO
    )
    session.commit()


def seconds(
    session: Session, component: Component, first: date, last: date, now: datetime
) -> dict[date, dict[ComponentStatus, float] | None]:
    """Per day: seconds in each status that had any (None: no data)."""
    found = uptime.daily_figures(
        session, [component], first_day=first, last_day=last, now=now, tz=OSLO
    )[component.id]
    return {
        d.day: {s: us / 1e6 for s, us in d.us.items() if us} if d.has_data else None for d in found
    }


def stored(session: Session, component: Component) -> dict[date, dict[ComponentStatus, float]]:
    """What the rollup table holds, in seconds (zero statuses left out)."""
    rows = session.exec(
        select(ComponentDay)
        .where(ComponentDay.component_id == component.id)
        .order_by(col(ComponentDay.day))
    )
    return {
        row.day: {s: getattr(row, c) / 1e6 for s, c in rollups.COLUMNS.items() if getattr(row, c)}
        for row in rows
    }


def test_whole_days_and_the_partial_first_day(session: Session) -> None:
    ocpp = new_component(session, oslo(2025, 9, 1, 12, 0))
    change(session, ocpp, MAJOR, oslo(2025, 9, 3, 0, 0))
    change(session, ocpp, OK, oslo(2025, 9, 5, 0, 0))
    now = oslo(2025, 9, 7, 11, 0)
    got = seconds(session, ocpp, date(2025, 8, 31), date(2025, 9, 7), now)
    assert got == {
        date(2025, 8, 31): None,  # before the component existed
        date(2025, 9, 1): {OK: 12 * HOUR},  # created at noon
        date(2025, 9, 2): {OK: 24 * HOUR},
        date(2025, 9, 3): {MAJOR: 24 * HOUR},
        date(2025, 9, 4): {MAJOR: 24 * HOUR},
        date(2025, 9, 5): {OK: 24 * HOUR},
        date(2025, 9, 6): {OK: 24 * HOUR},
        date(2025, 9, 7): {OK: 11 * HOUR},  # today, up to now
    }
    percent = uptime.period_percent(
        uptime.daily_figures(
            session, [ocpp], first_day=date(2025, 9, 1), last_day=date(2025, 9, 7), now=now, tz=OSLO
        )[ocpp.id],
        uptime.Weights(),
    )
    assert percent == pytest.approx(100 * (1 - 48 / (12 + 24 * 5 + 11)))


def test_several_changes_in_one_day_split_it_exactly(session: Session) -> None:
    ocpp = new_component(session, oslo(2025, 9, 1, 0, 0))
    change(session, ocpp, MAJOR, oslo(2025, 9, 5, 10, 0))
    change(session, ocpp, PARTIAL, oslo(2025, 9, 5, 10, 30))
    change(session, ocpp, DEGRADED, oslo(2025, 9, 5, 11, 0))
    change(session, ocpp, MAINT, oslo(2025, 9, 5, 12, 15))
    change(session, ocpp, OK, oslo(2025, 9, 5, 13, 15))
    # A change back and forth within the same second leaves nothing behind.
    change(session, ocpp, MAJOR, oslo(2025, 9, 5, 14, 0))
    change(session, ocpp, OK, oslo(2025, 9, 5, 14, 0))
    day = seconds(session, ocpp, date(2025, 9, 5), date(2025, 9, 5), oslo(2025, 9, 7, 11, 0))
    expected = {MAJOR: 1800.0, PARTIAL: 1800.0, DEGRADED: 4500.0, MAINT: 3600.0}
    assert day[date(2025, 9, 5)] == {OK: 24 * HOUR - sum(expected.values()), **expected}
    figures = uptime.daily_figures(
        session,
        [ocpp],
        first_day=date(2025, 9, 5),
        last_day=date(2025, 9, 5),
        now=oslo(2025, 9, 7, 11, 0),
        tz=OSLO,
    )[ocpp.id][0]
    assert figures.worst == MAJOR
    # Maintenance is left out: 23 counted hours, of which 30 min down and 30 min at 0.3.
    assert uptime.uptime_percent(figures.us, uptime.Weights()) == pytest.approx(
        100 * (1 - (1800 + 0.3 * 1800) / (23 * HOUR))
    )


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2025, 10, 26), 25), (date(2025, 3, 30), 23), (date(2025, 9, 7), 24)],
)
def test_dst_days_have_their_real_length(session: Session, day: date, hours: int) -> None:
    ocpp = new_component(session, oslo(2025, 1, 1, 0, 0))
    # Partial outage from 22:00 the evening before to 02:00 the morning after: the whole local
    # day in between, whatever its length, plus two hours on each side.
    before = day - timedelta(days=1)
    after = day + timedelta(days=1)
    change(session, ocpp, PARTIAL, oslo(before.year, before.month, before.day, 22, 0))
    change(session, ocpp, OK, oslo(after.year, after.month, after.day, 2, 0))
    got = seconds(session, ocpp, before, after, oslo(2025, 12, 1, 0, 0))
    assert got[day] == {PARTIAL: hours * HOUR}
    assert got[before] == {OK: 22 * HOUR, PARTIAL: 2 * HOUR}
    assert got[after] == {PARTIAL: 2 * HOUR, OK: 22 * HOUR}
    assert stored(session, ocpp)[day] == {PARTIAL: hours * HOUR}


def test_split_by_day_cuts_at_local_midnight_not_utc() -> None:
    pieces = rollups.split_by_day(
        datetime(2025, 9, 6, 21, 0, tzinfo=UTC), datetime(2025, 9, 8, 1, 0, tzinfo=UTC), OSLO
    )
    # 21:00 UTC is 23:00 in Oslo; Oslo's midnight is 22:00 UTC.
    assert pieces == [
        (date(2025, 9, 6), HOUR * 10**6),
        (date(2025, 9, 7), 24 * HOUR * 10**6),
        (date(2025, 9, 8), 3 * HOUR * 10**6),
    ]
    moment = datetime(2025, 9, 8, tzinfo=UTC)
    assert rollups.split_by_day(moment, moment, OSLO) == []
    assert rollups.split_by_day(moment, moment - timedelta(hours=1), OSLO) == []


def test_back_dated_change_before_creation_counts_no_negative_time(session: Session) -> None:
    # Replaying history: the component is created today, an incident is back-dated two days.
    ocpp = new_component(session, oslo(2025, 9, 7, 8, 0))
    change(session, ocpp, MAJOR, oslo(2025, 9, 5, 12, 0), recorded=oslo(2025, 9, 7, 9, 0))
    assert stored(session, ocpp) == {}
    change(session, ocpp, OK, oslo(2025, 9, 7, 10, 0))
    now = oslo(2025, 9, 7, 11, 0)
    got = seconds(session, ocpp, date(2025, 9, 5), date(2025, 9, 7), now)
    assert got == {
        date(2025, 9, 5): None,
        date(2025, 9, 6): None,
        date(2025, 9, 7): {MAJOR: 2 * HOUR, OK: HOUR},
    }
    assert all(v >= 0 for day in stored(session, ocpp).values() for v in day.values())


def test_back_dated_change_after_creation_lands_at_its_time(session: Session) -> None:
    ocpp = new_component(session, oslo(2025, 9, 1, 0, 0))
    # Posted at 11:00 on the 7th, effective 23:00 on the 5th.
    change(session, ocpp, PARTIAL, oslo(2025, 9, 5, 23, 0), recorded=oslo(2025, 9, 7, 11, 0))
    assert stored(session, ocpp)[date(2025, 9, 5)] == {OK: 23 * HOUR}
    got = seconds(session, ocpp, date(2025, 9, 5), date(2025, 9, 7), oslo(2025, 9, 7, 11, 0))
    assert got == {
        date(2025, 9, 5): {OK: 23 * HOUR, PARTIAL: HOUR},
        date(2025, 9, 6): {PARTIAL: 24 * HOUR},
        date(2025, 9, 7): {PARTIAL: 11 * HOUR},
    }


def test_the_open_interval_is_added_when_reading_never_stored(session: Session) -> None:
    ocpp = new_component(session, oslo(2025, 9, 1, 0, 0))
    change(session, ocpp, PARTIAL, oslo(2025, 9, 6, 20, 0))
    assert set(stored(session, ocpp)) == {date(2025, 9, d) for d in range(1, 7)}
    assert stored(session, ocpp)[date(2025, 9, 6)] == {OK: 20 * HOUR}
    first, last = date(2025, 9, 6), date(2025, 9, 7)
    at_11 = seconds(session, ocpp, first, last, oslo(2025, 9, 7, 11, 0))
    assert at_11 == {first: {OK: 20 * HOUR, PARTIAL: 4 * HOUR}, last: {PARTIAL: 11 * HOUR}}
    at_12 = seconds(session, ocpp, first, last, oslo(2025, 9, 7, 12, 0))
    assert at_12[last] == {PARTIAL: 12 * HOUR}
    assert date(2025, 9, 7) not in stored(session, ocpp)


def test_incremental_rollup_equals_a_replay_of_the_whole_log(session: Session) -> None:
    a = new_component(session, oslo(2025, 3, 29, 18, 0), name="A")
    b = new_component(session, oslo(2025, 10, 25, 23, 30), name="B")
    steps = [
        (a, MAJOR, oslo(2025, 3, 29, 23, 59), None),
        (a, DEGRADED, oslo(2025, 3, 30, 3, 30), None),  # after the spring-forward gap
        (b, MAINT, oslo(2025, 10, 26, 2, 30), None),  # in the repeated hour
        (b, PARTIAL, oslo(2025, 10, 24, 1, 0), oslo(2025, 10, 27, 0, 0)),  # before creation
        (a, OK, oslo(2025, 10, 26, 12, 0), None),
        (b, OK, oslo(2025, 10, 28, 9, 15, 30), None),
    ]
    for component, status, at, recorded in steps:
        change(session, component, status, at, recorded=recorded)
    incremental = {c.name: stored(session, c) for c in (a, b)}
    assert incremental["A"][date(2025, 3, 30)] == {MAJOR: 2.5 * HOUR, DEGRADED: 20.5 * HOUR}
    assert sum(incremental["B"][date(2025, 10, 26)].values()) == 25 * HOUR
    rollups.rebuild_rollups(session, tz=OSLO)
    assert {c.name: stored(session, c) for c in (a, b)} == incremental


def test_weights_come_from_settings_and_maintenance_is_left_out() -> None:
    day = {OK: 20 * HOUR, MAJOR: HOUR, PARTIAL: HOUR, DEGRADED: HOUR, MAINT: HOUR}
    default = uptime.weights_of(Settings())
    assert default == uptime.Weights(major_outage=1.0, partial_outage=0.3, degraded_performance=0)
    assert uptime.uptime_percent(day, default) == pytest.approx(100 * (1 - 1.3 / 23))
    custom = uptime.weights_of(
        Settings(uptime_partial_outage_weight=0.5, uptime_degraded_weight=0.25)
    )
    assert uptime.uptime_percent(day, custom) == pytest.approx(100 * (1 - 1.75 / 23))
    assert uptime.uptime_percent({MAINT: 24 * HOUR}, default) is None
    assert uptime.uptime_percent({}, default) is None
    with pytest.raises(ValueError, match="less than or equal to 1"):
        Settings(uptime_partial_outage_weight=1.5)

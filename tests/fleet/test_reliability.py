"""The reliability figure (UK Public Charge Point Regulations 2023, regulation 7) against a
hand-computed example on the day British Summer Time began (30 March 2025: 23 hours long),
with an operator's exclusion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.config import Settings
from app.db import unit_of_work
from app.errors import InvalidInput
from app.fleet import hours as hours_module
from app.fleet import reliability, store
from app.main import create_app
from app.models import FleetEvse
from peers.ocpi import make_location
from tests.conftest import FakeClock

LONDON = "Europe/London"
SEEN = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2025, 3, 30, 0, 0, tzinfo=UTC)  # 00:00 GMT; at 01:00 UTC clocks go to 02:00 BST
LATER = datetime(2025, 4, 2, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def london(settings: Settings, engine: Engine) -> Settings:
    """A page in London with three rapid chargers and one slow one."""
    with unit_of_work(engine) as session:
        store.apply_locations(
            session,
            "roaming",
            [
                make_location("LON-1", city="London", country="GBR", evses=2, at=SEEN),
                make_location("LON-2", city="London", country="GBR", evses=1, at=SEEN, power_kw=22),
                make_location(
                    "LON-3", city="London", country="GBR", evses=1, at=SEEN, status="PLANNED"
                ),
            ],
            now=SEEN,
        )

        def move(uid: str, status: str, at: datetime) -> None:
            evse = session.exec(select(FleetEvse).where(FleetEvse.uid == uid)).one()
            store.set_evse_status(session, evse, status, at, now=LATER)

        # LON-1-1 out of order from 00:00 GMT to 03:00 BST: two real hours, not three.
        move("LON-1-1", "OUTOFORDER", MIDNIGHT)
        move("LON-1-1", "AVAILABLE", MIDNIGHT + hours(2))
        # LON-1-2 blocked for an hour: "ineligible for measurement" counts as reliable.
        move("LON-1-2", "BLOCKED", MIDNIGHT + hours(10))
        move("LON-1-2", "AVAILABLE", MIDNIGHT + hours(11))
        # The slow charger is down all day: not a rapid charge point, not counted.
        move("LON-2-1", "INOPERATIVE", MIDNIGHT)
        # LON-3-1 is planned until noon UTC: measured from then on only.
        move("LON-3-1", "AVAILABLE", MIDNIGHT + hours(12))
        # The next day LON-1-2 is out of order for 6 hours (outside the window asked below).
        move("LON-1-2", "OUTOFORDER", MIDNIGHT + hours(30))
        move("LON-1-2", "AVAILABLE", MIDNIGHT + hours(36))
    return settings.model_copy(update={"timezone": LONDON})


@pytest.fixture
def staff_london(london: Settings, engine: Engine, clock: FakeClock) -> Any:
    from app.auth import service as auth
    from app.clock import get_clock

    app = create_app(london.model_copy(update={"reliability_page": True}))
    app.dependency_overrides[get_clock] = lambda: clock
    with unit_of_work(engine) as session:
        _, plain = auth.create_token(session, name="tester", now=clock())
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        yield client


def test_the_dst_day_by_hand(london: Settings, engine: Engine) -> None:
    win = reliability.window(MIDNIGHT.date(), MIDNIGHT.date(), london.tz)
    assert win.end - win.start == hours(23)
    with unit_of_work(engine) as session:
        network, _ = reliability.report(session, win, areas=[])
    by_uid = {e.uid: e for e in network.evses}
    assert set(by_uid) == {"LON-1-1", "LON-1-2", "LON-3-1"}  # 22 kW is not rapid
    assert (by_uid["LON-1-1"].reliable_s, by_uid["LON-1-1"].unreliable_s) == (21 * 3600, 2 * 3600)
    assert by_uid["LON-1-2"].reliability == 1.0
    assert by_uid["LON-3-1"].measured_s == 11 * 3600
    # (21/23 + 1 + 1) / 3
    assert network.reliability == pytest.approx((21 / 23 + 2) / 3)
    assert network.meets_duty is False


def test_an_exclusion_and_the_exports(staff_london: TestClient) -> None:
    staff = staff_london
    made = staff.post(
        "/api/v1/fleet/reliability/exclusions",
        json={
            "location_id": "LON-1",
            "evse_uid": "LON-1-1",
            "starts_at": "2025-03-30T00:30:00Z",
            "ends_at": "2025-03-30T01:30:00Z",
            "reason": "vandalism",
            "note": "Cable cut",
        },
    )
    assert made.status_code == 201, made.text
    report = staff.get("/api/v1/fleet/reliability?start=2025-03-30&end=2025-03-30").json()
    # LON-1-1: 1 of its 2 down hours excluded: 21/22. Network: (21/22 + 1 + 1) / 3.
    assert report["network"]["reliability_percent"] == pytest.approx(
        round((21 / 22 + 2) / 3 * 100, 4)
    )
    chargers = {c["evse_uid"]: c for c in report["chargers"]}
    assert chargers["LON-1-1"]["excluded_hours"] == 1.0
    assert chargers["LON-1-1"]["not_reliable_hours"] == 1.0
    # Two days: the second day's 6 hours out of order on LON-1-2 count (24 h that day).
    two = staff.get("/api/v1/fleet/reliability?start=2025-03-30&end=2025-03-31").json()
    lon11 = 45 / 46  # 23 + 24 hours, 1 not reliable, 1 excluded
    lon12 = 41 / 47
    lon31 = 35 / 35  # from noon UTC on the 30th to midnight BST on the 1st
    expected = (lon11 + lon12 + lon31) / 3
    assert two["network"]["reliability_percent"] == pytest.approx(round(expected * 100, 4))
    # The calendar year and the public exports agree with the staff API.
    year = staff.get("/api/v1/fleet/reliability?year=2025").json()
    public = staff.get("/reliability.json?year=2025")
    assert public.status_code == 200
    assert public.json()["network"] == year["network"]
    csv = staff.get("/reliability.csv?start=2025-03-30&end=2025-03-30")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("location_id,evse_uid")
    assert any(line.startswith("LON-1,LON-1-1,") and line.endswith(",95.4545") for line in lines)
    page = staff.get("/reliability/?year=2025")
    assert page.status_code == 200 and "reliab" in page.text.lower()
    # Bad requests are clear 4xx.
    assert staff.get("/api/v1/fleet/reliability?year=2025&start=2025-01-01").status_code == 422
    assert staff.get("/api/v1/fleet/reliability?start=2025-03-02&end=2025-03-01").status_code == 422
    wrong = staff.post(
        "/api/v1/fleet/reliability/exclusions",
        json={
            "starts_at": "2025-03-30T02:00:00Z",
            "ends_at": "2025-03-30T01:00:00Z",
            "reason": "vandalism",
        },
    )
    assert wrong.status_code == 422
    listed = staff.get("/api/v1/fleet/reliability/exclusions").json()
    assert [x["reason"] for x in listed] == ["vandalism"]
    assert (
        staff.delete(f"/api/v1/fleet/reliability/exclusions/{listed[0]['id']}").status_code == 204
    )


def test_the_public_report_is_opt_in(client: TestClient) -> None:
    assert client.get("/reliability/").status_code == 404
    assert client.get("/reliability.json").status_code == 404
    assert client.get("/reliability.csv").status_code == 404


def test_what_has_not_happened_is_not_measured(london: Settings, engine: Engine) -> None:
    # On the evening of 31 March, "this year" ends now: LON-1-2's afternoon outage is the last
    # thing known, and the rest of the year is not counted as it.
    now = MIDNIGHT + hours(33)  # 31 March 10:00 BST, LON-1-2 out of order since 07:00 BST
    win = reliability.asked_window(london.tz, now, None, None, None)
    assert (win.first_day.isoformat(), win.end) == ("2025-01-01", now)
    with unit_of_work(engine) as session:
        network, _ = reliability.report(session, win, areas=[])
    lon12 = next(e for e in network.evses if e.uid == "LON-1-2")
    assert lon12.unreliable_s == 3 * 3600
    with pytest.raises(InvalidInput, match="not begun"):
        reliability.asked_window(london.tz, now, 2026, None, None)


def test_a_site_open_at_some_hours_is_measured_only_then(engine: Engine) -> None:
    # Regulation 7(5): "Where a rapid charge point can be accessed only during specific
    # hours, reliability is to be assessed only by reference to those hours."
    # A car park open 08:00-20:00 every day (London time), closed early (18:00-20:00 BST) on
    # Sunday 30 March 2025, the day BST began. Its charger is out of order 06:00-10:00 BST.
    # Hand computed, in UTC: open 07:00-17:00 (08:00-18:00 BST) = 10 h; out of order while
    # open 07:00-09:00 = 2 h; reliable 8 h: 80 %. (Measured all day it would be 19 of 23 h.)
    site = make_location("LON-9", city="London", country="GBR", evses=1, at=SEEN)
    site["time_zone"] = LONDON
    site["opening_times"] = {
        "twentyfourseven": False,
        "regular_hours": [
            {"weekday": day, "period_begin": "08:00", "period_end": "20:00"} for day in range(1, 8)
        ],
        "exceptional_closings": [
            {"period_begin": "2025-03-30T17:00:00Z", "period_end": "2025-03-30T19:00:00Z"}
        ],
    }
    with unit_of_work(engine) as session:
        store.apply_locations(session, "roaming", [site], now=SEEN)
        evse = session.exec(select(FleetEvse).where(FleetEvse.uid == "LON-9-1")).one()
        store.set_evse_status(session, evse, "OUTOFORDER", MIDNIGHT + hours(5), now=LATER)
        store.set_evse_status(session, evse, "AVAILABLE", MIDNIGHT + hours(9), now=LATER)
    day = MIDNIGHT.date()
    with unit_of_work(engine) as session:
        network, _ = reliability.report(
            session, reliability.window(day, day, ZoneInfo(LONDON)), areas=[]
        )
    (figure,) = network.evses
    assert figure.reliable_s == 8 * 3600
    assert figure.unreliable_s == 2 * 3600
    assert figure.reliability == pytest.approx(0.8)
    # Told by a PATCH that the site is now open around the clock: measured all day.
    with unit_of_work(engine) as session:
        store.apply_location(
            session,
            "roaming",
            {
                "id": "LON-9",
                "opening_times": {"twentyfourseven": True},
                "last_updated": "2025-04-01T00:00:00Z",
            },
            now=LATER,
            partial=True,
        )
        network, _ = reliability.report(
            session, reliability.window(day, day, ZoneInfo(LONDON)), areas=[]
        )
    assert network.evses[0].reliable_s == 19 * 3600  # the 23-hour day less 4 h out of order


def test_opening_hours_past_midnight_and_until_midnight() -> None:
    tz = ZoneInfo(LONDON)
    night = {
        "regular_hours": [
            {"weekday": 6, "period_begin": "22:00", "period_end": "06:00"},  # Saturday night
            {"weekday": 7, "period_begin": "12:00", "period_end": "24:00"},
        ],
        "time_zone": LONDON,
    }
    win = reliability.window(MIDNIGHT.date(), MIDNIGHT.date(), tz)  # Sunday 30 March 2025
    assert hours_module.open_periods(night, win.start, win.end, UTC) == [
        (MIDNIGHT, MIDNIGHT + hours(5)),  # until 06:00 BST, which is 05:00 UTC
        (MIDNIGHT + hours(11), MIDNIGHT + hours(23)),  # 12:00 BST until midnight
    ]
    assert hours_module.open_periods({"twentyfourseven": True}, win.start, win.end, tz) is None
    assert hours_module.open_periods(None, win.start, win.end, tz) is None

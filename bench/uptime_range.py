"""Benchmark: uptime over a ten-year range of many components, monthly sums vs daily rows.

    python bench/uptime_range.py [--components 200] [--years 10] [--database-url URL]

Seeds components in groups of ten, created ten years ago, with a component_day row for every
day (the most a page can have), then computes the range report the way /uptime/?from=&to=
and /api/v2/uptime.json do (app.uptime.ranges: the database sums each component's days per
month) and, in the same run,
the way reusing the bars' daily figures would (app.uptime.service.daily_figures over the range,
then summed per month in Python). Prints JSON: the seconds and peak traced memory of each, their
ratio, and the rows each read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import select

from app.db import create_db_engine, migrate, read_session
from app.models import Component, ComponentDay, new_id
from app.uptime import ranges, service

TZ = ZoneInfo("Europe/Oslo")


def seed(engine: sa.Engine, components: int, years: int, now: datetime) -> list[str]:
    """Groups of ten components with a rollup row for every day of `years` years."""
    born = now - timedelta(days=365 * years + 3)
    first = born.astimezone(TZ).date() + timedelta(days=1)
    last = now.astimezone(TZ).date() - timedelta(days=1)
    comp = Component.__table__  # type: ignore[attr-defined]
    days = ComponentDay.__table__  # type: ignore[attr-defined]
    ids = []
    with engine.begin() as conn:
        groups = [new_id() for _ in range(max(1, components // 10))]
        conn.execute(
            comp.insert(),
            [
                {"id": g, "name": f"Group {n}", "is_group": True, "position": n,
                 "created_at": born, "updated_at": born}
                for n, g in enumerate(groups)
            ],
        )  # fmt: skip
        rows = []
        for n in range(components):
            cid = new_id()
            ids.append(cid)
            rows.append(
                {"id": cid, "name": f"Component {n}", "group_id": groups[n % len(groups)],
                 "position": n, "created_at": born, "updated_at": born}
            )  # fmt: skip
        conn.execute(comp.insert(), rows)
        day_us = 86_400_000_000
        for cid in ids:
            batch = []
            day = first
            while day <= last:
                down = 60_000_000 * (hash((cid, day)) % 30) if day.day == 13 else 0
                batch.append(
                    {"component_id": cid, "day": day, "operational_us": day_us - down,
                     "major_outage_us": down, "under_maintenance_us": 0,
                     "degraded_performance_us": 0, "partial_outage_us": 0}
                )  # fmt: skip
                day += timedelta(days=1)
            conn.execute(days.insert(), batch)
    return ids


def timed(work: Callable[[], Any], runs: int = 3) -> tuple[float, float, Any]:
    """Median seconds over `runs`, peak traced MB of one run, and the last result."""
    seconds = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(seconds), peak / 1e6, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_db_engine(url)
        migrate(engine)
        started = time.perf_counter()
        seed(engine, args.components, args.years, now)
        seeded = time.perf_counter() - started
        today = now.astimezone(TZ).date()
        span = ranges.DateRange(today - timedelta(days=ranges.MAX_DAYS - 1), today)

        with read_session(engine) as session:
            everything = list(session.exec(select(Component)).all())
            listed = [c for c in everything if not c.is_group]
            rows = ranges.showcased_rows(listed, everything)
            names = {c.id: c.name for c in everything}

            def monthly() -> ranges.RangeReport:
                return ranges.range_report(session, rows, span, names=names, now=now, tz=TZ)

            def daily() -> dict[str, dict[tuple[int, int], int]]:
                figures = service.daily_figures(
                    session, listed, first_day=span.first, last_day=span.last, now=now, tz=TZ,
                    kept=None,
                )  # fmt: skip
                out: dict[str, dict[tuple[int, int], int]] = {}
                for cid, days in figures.items():
                    months: dict[tuple[int, int], int] = defaultdict(int)
                    for d in days:
                        months[(d.day.year, d.day.month)] += sum(d.us.values())
                    out[cid] = months
                return out

            month_s, month_mb, report = timed(monthly)
            day_s, day_mb, by_month = timed(daily, runs=1)
        # Both ways agree on the time counted.
        row = next(r for r in report.rows if not r.is_group)
        assert sum(sum(p.us.values()) for p in row.months) == sum(by_month[row.id].values())
        engine.dispose()
    print(
        json.dumps(
            {
                "components": args.components,
                "groups": max(1, args.components // 10),
                "days": span.days,
                "rollup_rows": args.components * span.days,
                "seed_seconds": round(seeded, 1),
                "monthly_sums_seconds": round(month_s, 3),
                "monthly_sums_peak_mb": round(month_mb, 1),
                "daily_rows_seconds": round(day_s, 3),
                "daily_rows_peak_mb": round(day_mb, 1),
                "time_ratio_monthly_to_daily": round(month_s / day_s, 3),
                "memory_ratio_monthly_to_daily": round(month_mb / day_mb, 3),
                "date": str(date.today()),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Probe timings kept compactly for the public latency charts.

Each successful run gives up to two figures: the response time (its slowest successful step
other than the propagation wait: a connect, an OCPP call, an HTTP request, a scrape) and, for
OCPP probes with a propagation check, the processing lag (how long the backend took to show the
probe's status update). They are added to 5-minute buckets per probe and series: count, sum,
least, most and a log-scale histogram whose bins are BASE apart, so the 95th percentile of any
merge of buckets (an hour, six hours) is read from it to within half a bin (about 7%). A
bucket is a row of a few dozen bytes; 30 days of one probe are 8,640 rows a series, and rows
older than the probe results' retention are deleted with them.

Only the probes that opt in (`public_latency = true`) are charted publicly; the figures of the
others are kept all the same, so opting in shows the last 30 days at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from app.models import ProbeLatency, ProbeState
from app.probes.outcome import ProbeRun

BUCKET = timedelta(minutes=5)
KEPT = timedelta(days=31)
BASE = 1.15  # a histogram bin spans [BASE**i - 1, BASE**(i+1) - 1) milliseconds
SERIES = ("response", "lag")
LAG_CHECKS = ("propagation",)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A chart's span and the width of its points."""

    name: str
    span: timedelta
    step: timedelta


WINDOWS = {
    "24h": Window("24h", timedelta(hours=24), timedelta(minutes=5)),
    "7d": Window("7d", timedelta(days=7), timedelta(hours=1)),
    "30d": Window("30d", timedelta(days=30), timedelta(hours=6)),
}


def figures(run: ProbeRun) -> dict[str, float]:
    """The run's response time and processing lag in milliseconds (each when measured)."""
    response = [
        c.latency_ms
        for c in run.checks
        if c.ok and c.latency_ms is not None and c.name not in LAG_CHECKS
    ]
    lag = [
        c.latency_ms
        for c in run.checks
        if c.ok and c.latency_ms is not None and c.name in LAG_CHECKS
    ]
    out: dict[str, float] = {}
    if response:
        out["response"] = max(response)
    if lag:
        out["lag"] = max(lag)
    return out


def bucket_of(at: datetime, step: timedelta = BUCKET) -> datetime:
    """The start of the bucket `at` falls in (buckets are aligned to the Unix epoch, UTC)."""
    since = at.astimezone(UTC) - EPOCH
    return EPOCH + step * (since // step)


def bin_of(ms: float) -> int:
    """The histogram bin of a timing."""
    return max(0, int(math.log(max(ms, 0.0) + 1.0, BASE)))


def record(session: Session, probe: str, run: ProbeRun, *, now: datetime) -> None:
    """Add the run's figures to their buckets (the caller's transaction; the probe's state row
    is locked by it, so one probe's buckets are never written twice at once)."""
    at = bucket_of(now)
    for series, ms in figures(run).items():
        row = session.get(ProbeLatency, (probe, series, at))
        if row is None:
            row = ProbeLatency(probe=probe, series=series, at=at, min_ms=ms, max_ms=ms)
        bins = dict(row.bins)
        key = str(bin_of(ms))
        bins[key] = bins.get(key, 0) + 1
        row.count += 1
        row.sum_ms += ms
        row.min_ms = min(row.min_ms, ms) if row.count > 1 else ms
        row.max_ms = max(row.max_ms, ms)
        row.bins = bins  # a new dict, so the JSON column is seen as changed
        session.add(row)


def prune(session: Session, *, now: datetime) -> None:
    """Forget buckets older than the retention period."""
    session.exec(delete(ProbeLatency).where(col(ProbeLatency.at) < now - KEPT))


@dataclass
class Point:
    """Merged buckets: one point of a chart."""

    at: datetime
    count: int = 0
    sum_ms: float = 0.0
    min_ms: float = math.inf
    max_ms: float = 0.0
    bins: dict[int, int] = field(default_factory=dict)

    def add(self, row: ProbeLatency) -> None:
        """Merge one stored bucket in."""
        self.count += row.count
        self.sum_ms += row.sum_ms
        self.min_ms = min(self.min_ms, row.min_ms)
        self.max_ms = max(self.max_ms, row.max_ms)
        for key, n in row.bins.items():
            self.bins[int(key)] = self.bins.get(int(key), 0) + n

    @property
    def avg_ms(self) -> float:
        """The mean."""
        return self.sum_ms / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """The q-quantile, read from the histogram (a bin's geometric middle, within min-max)."""
        if not self.count:
            return 0.0
        wanted = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= wanted:
                middle = math.pow(BASE, index + 0.5) - 1.0
                return min(max(middle, self.min_ms), self.max_ms)
        return self.max_ms


@dataclass(frozen=True)
class Series:
    """One series of a component over a window: a point per step that has measurements."""

    name: str
    points: list[Point]


def public_probes(session: Session, component_id: str) -> list[str]:
    """The probes of a component whose timings are public (as of their last run)."""
    return list(
        session.exec(
            select(ProbeState.name).where(
                ProbeState.component_id == component_id, col(ProbeState.public_latency)
            )
        )
    )


def charted_components(session: Session) -> set[str]:
    """Components with at least one probe whose timings are public."""
    rows = session.exec(
        select(ProbeState.component_id).where(
            col(ProbeState.public_latency), col(ProbeState.component_id).is_not(None)
        )
    )
    return {cid for cid in rows if cid}


def series_of(
    session: Session, probes: Sequence[str], window: Window, *, now: datetime
) -> list[Series]:
    """Each series of these probes over the window, merged per step (probes of one component
    are merged too: a component's chart is of all its public probes)."""
    end = bucket_of(now, window.step) + window.step
    start = end - window.span
    merged: dict[str, dict[datetime, Point]] = {name: {} for name in SERIES}
    if probes:
        rows: Iterable[ProbeLatency] = session.exec(
            select(ProbeLatency).where(
                col(ProbeLatency.probe).in_(list(probes)),
                col(ProbeLatency.at) >= start,
                col(ProbeLatency.at) < end,
            )
        )
        for row in rows:
            at = bucket_of(row.at, window.step)
            points = merged.setdefault(row.series, {})
            point = points.get(at)
            if point is None:
                point = points[at] = Point(at=at)
            point.add(row)
    return [Series(name, [merged[name][at] for at in sorted(merged[name])]) for name in SERIES]

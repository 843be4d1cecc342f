"""Uptime labels: what a day's bar says."""

from __future__ import annotations

from datetime import date

from app.models import ComponentStatus
from app.uptime.service import DayFigures, IncidentRef, Weights
from app.web.uptime_view import HistoryLinks, day_label


def test_a_day_names_three_incidents_then_counts_the_rest() -> None:
    us = dict.fromkeys(ComponentStatus, 0)
    us[ComponentStatus.major_outage] = 5 * 60_000_000
    day = DayFigures(day=date(2025, 9, 7), us=us, has_data=True)
    found = [IncidentRef(id=f"i{n}", name=f"Outage {n}") for n in range(5)]
    assert day_label(day, found) == (
        "Sep 7, 2025: 5 min major outage. Incidents: Outage 0; Outage 1; Outage 2; 2 more"
    )
    assert day_label(day, found[:1]) == "Sep 7, 2025: 5 min major outage. Incident: Outage 0"


def _reference_bars(
    cid: str,
    days: list[DayFigures],
    incidents: dict[tuple[str, date], list[IncidentRef]],
    weights: Weights,
    href: HistoryLinks,
) -> tuple[str, str, str, str, str]:
    """The row drawn from scratch, every day and figure computed anew."""
    from app.uptime.service import period_percent
    from app.web.uptime_view import bar_items, covered_since, day_cell, format_percent

    cells = [day_cell(d, incidents.get((cid, d.day), ()), href, label_quiet=False) for d in days]
    return (
        str(bar_items(cells, "/")),
        format_percent(period_percent(days, weights)),
        format_percent(period_percent(days[-30:], weights)),
        covered_since(days),
        covered_since(days[-30:]),
    )


def test_kept_rows_draw_what_a_fresh_row_draws() -> None:
    """Rows are kept by their past days and today is added per render: the result must be the
    row drawn from scratch, for young and old components, quiet and troubled days, incidents,
    and after today's figures move on."""
    import random
    from datetime import timedelta

    from app.web.uptime_view import history_links, uptime_bars

    rng = random.Random(5)
    today = date(2026, 11, 30)
    href = history_links(today, 3)
    weights = Weights()
    for n in range(60):
        length = rng.choice([1, 2, 29, 30, 31, 90])
        young = rng.randrange(length + 1) if n % 3 == 0 else 0
        days: list[DayFigures] = []
        incidents: dict[tuple[str, date], list[IncidentRef]] = {}
        for k in range(length):
            day = today - timedelta(days=length - 1 - k)
            us = dict.fromkeys(ComponentStatus, 0)
            has_data = k >= young
            if has_data:
                us[ComponentStatus.operational] = 86_400_000_000
                if rng.random() < 0.2:
                    us[rng.choice(list(ComponentStatus)[1:])] = rng.randrange(1, 7_200_000_000)
                if rng.random() < 0.1:
                    refs = [
                        IncidentRef(id=f"i{n}{k}{j}", name=f"X {j}")
                        for j in range(rng.randint(1, 2))
                    ]
                    incidents[("c", day)] = refs
            days.append(DayFigures(day=day, us=us, has_data=has_data))
        for _ in range(2):  # a second render: the kept row, today's figures moved on
            got = uptime_bars("c", days, incidents, weights=weights, history_href=href)
            assert (
                str(got.items_html("/")),
                got.percent,
                got.short_percent,
                got.since,
                got.short_since,
            ) == _reference_bars("c", days, incidents, weights, href)
            assert [c.iso for c in got.days] == [d.day.isoformat() for d in days]
            last = days[-1]
            if last.has_data:
                moved = dict(last.us)
                moved[ComponentStatus.major_outage] += 60_000_000
                days[-1] = DayFigures(day=last.day, us=moved, has_data=True)

"""Uptime labels: what a day's bar says."""

from __future__ import annotations

from datetime import date

from app.models import ComponentStatus
from app.uptime.service import DayFigures, IncidentRef
from app.web.uptime_view import day_label


def test_a_day_names_three_incidents_then_counts_the_rest() -> None:
    us = dict.fromkeys(ComponentStatus, 0)
    us[ComponentStatus.major_outage] = 5 * 60_000_000
    day = DayFigures(day=date(2025, 9, 7), us=us, has_data=True)
    found = [IncidentRef(id=f"i{n}", name=f"Outage {n}") for n in range(5)]
    assert day_label(day, found) == (
        "Sep 7, 2025: 5 min major outage. Incidents: Outage 0; Outage 1; Outage 2; 2 more"
    )
    assert day_label(day, found[:1]) == "Sep 7, 2025: 5 min major outage. Incident: Outage 0"

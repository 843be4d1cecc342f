"""Reading Statuspage's objects: lenient where its documentation and its answers differ."""

from __future__ import annotations

import pytest

from app.importers.incidents import markdown, remind_minutes
from app.importers.source import SourceError, SourceIncident, SourceSubscriber, parse

BASE = {
    "id": "abc123def456",
    "name": "Outage",
    "status": "resolved",
    "created_at": "2025-09-07T11:12:00.000+02:00",
}


def test_a_false_time_is_no_time() -> None:
    incident = parse(SourceIncident, {**BASE, "postmortem_published_at": False}, "incident")
    assert incident.postmortem_published_at is None


def test_reminders_become_minutes() -> None:
    assert [remind_minutes(v) for v in (None, False, True, 30, 0, 10**6)] == [
        None,
        None,
        60,
        30,
        None,
        None,
    ]


def test_an_object_not_understood_is_named() -> None:
    with pytest.raises(SourceError, match=r"incident abc123def456: status: Input should be"):
        parse(SourceIncident, {**BASE, "status": "exploded"}, "incident")
    with pytest.raises(SourceError, match="created_at"):
        parse(SourceIncident, {**BASE, "created_at": "2025-09-07T11:12:00"}, "incident")


def test_subscriber_components_may_be_objects() -> None:
    found = parse(SourceSubscriber, {"id": "s", "components": [{"id": "c1"}, "c2"]}, "subscriber")
    assert found.components == ["c1", "c2"]


def test_postmortems_lose_windows_line_ends() -> None:
    assert markdown("## A\r\n\r\nB\r") == "## A\n\nB"
    assert markdown("  \r\n ") is None

"""Times as the page shows them: in the page's zone, with its abbreviation."""

from __future__ import annotations

from datetime import date, datetime, tzinfo


def posted(value: datetime, tz: tzinfo) -> str:
    """Statuspage's timeline stamp, e.g. "Sep 07, 2025 - 11:12 CEST"."""
    return value.astimezone(tz).strftime("%b %d, %Y - %H:%M %Z")


def day_heading(value: date) -> str:
    """A day heading, e.g. "Sep 7, 2025"."""
    return f"{value:%b} {value.day}, {value.year}"


def month_heading(value: date) -> str:
    """A month heading, e.g. "September 2025"."""
    return f"{value:%B %Y}"

"""Times as the page shows them: in the page's zone, with its abbreviation, in the reader's
language (CLDR date formats through app.i18n; English keeps Statuspage's look)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from app import i18n


def posted(value: datetime, tz: tzinfo) -> str:
    """Statuspage's timeline stamp, e.g. "Sep 07, 2025 - 11:12 CEST" ("7. Sept. 2025 -
    11:12 CEST" in German)."""
    local = value.astimezone(tz)
    if i18n.current() == "en":
        return local.strftime("%b %d, %Y - %H:%M %Z")
    return f"{i18n.day(local.date())} - {local:%H:%M %Z}"


def day_heading(value: date) -> str:
    """A day heading, e.g. "Sep 7, 2025"."""
    return i18n.day(value)


def month_heading(value: date) -> str:
    """A month heading, e.g. "September 2025"."""
    return i18n.month(value)


def window(start: datetime, end: datetime, tz: tzinfo) -> str:
    """A maintenance window, e.g. "Sep 10, 2025 02:00 - 04:00 CEST".

    Each end keeps its own abbreviation when they differ (a window across a DST change:
    "Oct 26, 2025 02:30 CEST - 02:30 CET"), and the end's date when it is another day.
    """
    a, b = start.astimezone(tz), end.astimezone(tz)
    first = f"{i18n.day(a.date())} {a:%H:%M}"
    if a.date() != b.date():
        return f"{first} {a:%Z} - {i18n.day(b.date())} {b:%H:%M %Z}"
    if a.tzname() != b.tzname():
        return f"{first} {a:%Z} - {b:%H:%M %Z}"
    return f"{first} - {b:%H:%M %Z}"


UTC_NAMES = {"UTC", "UCT", "Etc/UTC", "Zulu"}


def iso(value: datetime, tz: tzinfo | None = None) -> str:
    """A time exactly as Statuspage writes it, in every API answer and webhook.

    Always three fractional digits (milliseconds, truncated like Rails' `xmlschema(3)`), then
    "Z" when the zone is UTC itself, else the zone's offset with a colon:
    "2025-09-07T09:12:00.000Z", "2025-09-07T11:12:00.000+02:00". A zone that is merely at
    offset zero (Europe/London in winter) keeps "+00:00", as Statuspage writes it. Naive
    values are UTC (the database stores UTC). With `tz`, the time is first moved into it.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz is not None:
        value = value.astimezone(tz)
    text = value.isoformat(timespec="milliseconds")
    if value.tzname() in UTC_NAMES and value.utcoffset() == timedelta(0):
        return text[: -len("+00:00")] + "Z"
    return text


def iso_or_none(value: datetime | None, tz: tzinfo | None = None) -> str | None:
    """`iso`, with None for none (the optional times of payloads)."""
    return iso(value, tz) if value is not None else None

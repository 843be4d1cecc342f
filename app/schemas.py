"""Shared schema pieces: limits and the Statuspage-style output helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, StringConstraints

from app import timefmt
from app.text import refuse_bidi, refuse_controls

NAME_MAX = 255
BODY_MAX = 20_000  # characters in one incident update (Statuspage keeps them short too)
POSTMORTEM_MAX = 200_000  # characters in a postmortem


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("datetime is out of range (years 1970-2999)") from exc
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("datetime is out of range (years 1970-2999)")
    return utc


def _api_time(value: datetime) -> str:
    return timefmt.iso(value)


# Output datetimes, in every JSON answer and webhook: exactly as Statuspage writes them
# ("2025-09-07T09:12:00.000Z", or "...000+02:00" in the page's zone); see app/timefmt.py.
ApiTime = Annotated[datetime, PlainSerializer(_api_time, return_type=str, when_used="json")]


# Input datetimes must carry an offset (naive ones are rejected with 422); stored as UTC.
UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(_api_time, return_type=str, when_used="json"),  # echoed as ApiTime
]

# Text refuses what XML can't carry (app/text.py): a 422 naming the character, not broken feeds.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(refuse_controls),
]
# A name that identifies something (a component): no bidirectional overrides either.
IdentifierName = Annotated[Name, AfterValidator(refuse_bidi)]
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX),
    AfterValidator(refuse_controls),
]
PostmortemBody = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=POSTMORTEM_MAX),
    AfterValidator(refuse_controls),
]
Description = Annotated[str, StringConstraints(max_length=2_000), AfterValidator(refuse_controls)]

"""Shared schema pieces: limits and the Statuspage-style output helpers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

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


# What the OpenAPI document promises: RFC 3339 text, never a number of seconds (which pydantic
# would otherwise read as a Unix time, so `"started_at": 0` became 1970).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_time_text(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_TIME.match(value)):
        return value
    raise ValueError("a date-time is RFC 3339 text with an offset, e.g. 2025-09-07T11:12:00+02:00")


def _date_text(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and _DATE.fullmatch(value)):
        return value
    raise ValueError("a date is text as YYYY-MM-DD")


def _api_time(value: datetime) -> str:
    return timefmt.iso(value)


# Output datetimes, in every JSON answer and webhook: exactly as Statuspage writes them
# ("2025-09-07T09:12:00.000Z", or "...000+02:00" in the page's zone); see app/timefmt.py.
ApiTime = Annotated[datetime, PlainSerializer(_api_time, return_type=str, when_used="json")]


def only(*members: StrEnum) -> WithJsonSchema:
    """An enum field's JSON schema when it takes only these members (a validator refuses the
    others with a message that says why): the document lists what is accepted."""
    return WithJsonSchema({"type": "string", "enum": [m.value for m in members]})


# Rules behind a 422 no JSON schema can state (app.errors.beyond_schema), shared by operations.
TIME_RANGE = "a time before 1970 or after 2999"
UNKNOWN_COMPONENT = (
    "a component id that does not exist, or a group's (a group's status comes from its components)"
)
FUTURE_DISPLAY_AT = "a display_at in the future (updates can be back-dated, not post-dated)"
CHARGERS = "chargers_affected without chargers_total (or the other way round), or more than it"

# Input datetimes must carry an offset (naive ones are rejected with 422); stored as UTC.
UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_date_time_text),
    AfterValidator(_to_utc),
    PlainSerializer(_api_time, return_type=str, when_used="json"),  # echoed as ApiTime
]

# A calendar day in input: "YYYY-MM-DD" only.
Day = Annotated[date, BeforeValidator(_date_text)]
# A true/false in a JSON body: JSON's true or false only (not 0, 1 or "yes").
Flag = Annotated[bool, Strict()]
# A count in a JSON body: an integer the databases can store (a bigger one was a 500).
Count = Annotated[int, Strict()]
COUNT_MAX = 2**31 - 1

# Text refuses what XML can't carry (app/text.py): a 422 naming the character, not broken feeds.
# The document says so too (a pattern only in the schema: the validators name the character).
_NO_CONTROLS = Field(json_schema_extra={"pattern": "^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$"})
_NO_CONTROLS_OR_BIDI = Field(
    json_schema_extra={
        "pattern": "^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u202a-\u202e\u2066-\u2069]*$"
    }
)
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(refuse_controls),
    _NO_CONTROLS,
]
# A name that identifies something (a component): no bidirectional overrides either.
IdentifierName = Annotated[Name, AfterValidator(refuse_bidi), _NO_CONTROLS_OR_BIDI]
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX),
    AfterValidator(refuse_controls),
    _NO_CONTROLS,
]
PostmortemBody = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=POSTMORTEM_MAX),
    AfterValidator(refuse_controls),
    _NO_CONTROLS,
]
Description = Annotated[
    str, StringConstraints(max_length=2_000), AfterValidator(refuse_controls), _NO_CONTROLS
]

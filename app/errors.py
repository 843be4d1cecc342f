"""Domain errors; each carries its HTTP status and one handler renders them.

PharosError
├── NotFound            404  the addressed object does not exist
├── Conflict            409  the request clashes with the object's current state
│   └── InvalidTransition  409  a status change the lifecycle does not allow
├── InvalidInput        422  the payload is well-formed but refers to something impossible
└── TooManyRequests     429  a rate limit refused the request; retry_after says when to retry

EarlyAnswer is not an error: a request answered before its handler finished (a redirect to sign
in, a refused form kept as a draft).
"""

from __future__ import annotations

from typing import Any

# The OpenAPI extension on a 422 answer that lists, in words, the rules a request the schema
# allows can still break (an id that does not exist, an end before its start).
BEYOND_SCHEMA = "x-refused-beyond-schema"


class PharosError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PharosError):
    """The addressed object does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(PharosError):
    """The request clashes with the current state."""

    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    """A lifecycle transition that is not allowed."""

    code = "invalid_transition"


class InvalidInput(PharosError):
    """A payload that names unknown objects or impossible combinations."""

    status_code = 422
    code = "invalid_input"


def beyond_schema(*rules: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the rules behind a 422 that a schema can't express, one phrase
    each ("a component id that does not exist"); app/web/openapi.py writes them into the
    document, and the schemathesis test accepts a 422 to valid data only where they are."""
    return {422: {"description": "See " + BEYOND_SCHEMA, BEYOND_SCHEMA: list(rules)}}


class TooManyRequests(PharosError):
    """A rate limit refused the request; nothing was stored. Answered with Retry-After."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class EarlyAnswer(Exception):
    """Stop handling the request and answer now; not a failure.

    The request's unit of work rolls back what the request wrote, unless `keep_writes` says
    those writes are the point (a refused form kept as a draft).
    """

    def __init__(self, *, keep_writes: bool = False) -> None:
        super().__init__("answered early")
        self.keep_writes = keep_writes

"""Bytes responses with strong ETags, Last-Modified and 304 on revalidation."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

# One policy for public answers, whether the render cache serves them or the route does.
CACHE_CONTROL = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400"


def etag_of(body: bytes) -> str:
    """A strong ETag for these bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified_since(request: Request, last_modified: datetime) -> bool:
    header = request.headers.get("if-modified-since")
    if not header or "if-none-match" in request.headers:
        return False  # If-None-Match wins when both are sent (RFC 9110 13.1.3)
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and last_modified.replace(microsecond=0) <= since


def conditional_response(
    request: Request, body: bytes, *, media_type: str, last_modified: datetime
) -> Response:
    """200 with the bytes, or 304 when the client's copy is current."""
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified, usegmt=True),
        "Cache-Control": CACHE_CONTROL,
    }
    matches = request.headers.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in matches.split(",")] or matches == "*":
        return Response(status_code=304, headers=headers)
    if _not_modified_since(request, last_modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)

"""The envelope every webhook delivery carries around the payload its domain built."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.timefmt import iso

DOCUMENTATION = "https://github.com/pharos-status/pharos#webhooks"


def envelope(
    *, event_type: str, payload: dict[str, Any], generated_at: datetime, unsubscribe_url: str
) -> dict[str, Any]:
    """The whole body for one subscriber: type, meta (with its unsubscribe link), payload."""
    return {
        "type": event_type,
        "meta": {
            "unsubscribe": unsubscribe_url,
            "documentation": DOCUMENTATION,
            "generated_at": iso(generated_at),
        },
        **payload,
    }

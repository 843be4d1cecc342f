"""Standard Webhooks signing and the HTTP send of one delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import httpx

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
USER_AGENT = "Pharos-Webhooks/1.0 (+https://github.com/pharos-status)"
ERROR_LIMIT = 500


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Outcome:
    """What one attempt did."""

    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """2xx only; redirects are failures (they are not followed)."""
        return self.status_code is not None and 200 <= self.status_code < 300


async def send(
    client: httpx.AsyncClient, *, url: str, secret: str, msg_id: str, body: bytes
) -> Outcome:
    """POST one signed delivery; never raises for network trouble."""
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    started = time.perf_counter()
    try:
        async with client.stream(
            "POST", url, content=body, headers=headers, follow_redirects=False
        ) as response:
            # The answer's body is never read: a receiver can't make us hold a large one.
            status_code = response.status_code
    except httpx.HTTPError as exc:
        latency = int((time.perf_counter() - started) * 1000)
        message = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        return Outcome(status_code=None, latency_ms=latency, error=message)
    latency = int((time.perf_counter() - started) * 1000)
    error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code=status_code, latency_ms=latency, error=error)

"""What a public subscribe endpoint must pass before it stores anything.

Anyone can post the public forms, so without these one client could make Pharos send every
event to one host hundreds of times (amplification). Every public subscribe endpoint (webhook,
email, chat) does, in this order, before any write:

1. `Throttle.check(session, now, address=..., target=...)`: a rate limit per client address
   and per target (host of a webhook URL, an email address); `TooManyRequests` (429 with
   Retry-After) when either is used up. Only accepted attempts count, in the database, so
   every replica sees them; the edge commits them in a transaction of their own.
2. `check_host_cap(count, host, limit)`: at most `subscribe_max_per_host` subscriptions per
   target host (409). `webhook_count_for_host` counts webhook subscribers; other channels pass
   their own count.
3. For a webhook: `verify_webhook(url, ...)`: the endpoint must answer a verification request
   by echoing its challenge (422 otherwise), so only receivers that want our POSTs get them.

The verification is synchronous and bounded (PHAROS_WEBHOOK_VERIFY_TIMEOUT_SECONDS, 5 s): the
person at the form learns at once whether their endpoint works, and no transaction is open
while Pharos waits, so nothing else waits with it. Staff-made subscribers (API, import) skip
all three: staff choose their targets.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import advisory_lock
from app.errors import Conflict, InvalidInput, TooManyRequests
from app.models import RateHit, Subscriber
from app.notifications import outbound

WINDOW_SECONDS = 3600.0
VERIFICATION_TYPE = "webhook.verification"
VERIFICATION_HEADER = "webhook-verification"
ANSWER_LIMIT = 4096  # bytes of a verification answer read at most


@dataclass(frozen=True)
class Rate:
    """At most `limit` accepted attempts per `window` seconds."""

    limit: int
    window: float = WINDOW_SECONDS


class Throttle:
    """Sliding-window limits per (kind, key), shared by every replica through the database.

    One row per accepted attempt and key (`RateHit`; the key stored as a SHA-256, never the
    address itself). Counting and adding happen under an advisory lock per key on PostgreSQL
    (SQLite's writers queue anyway), so parallel attempts on two replicas can't both pass the
    last free place. Rows older than the longest window are deleted as attempts come in.
    """

    def __init__(self, rates: dict[str, Rate]) -> None:
        self.rates = rates

    def _wait(self, session: Session, kind: str, key: str, now: datetime) -> float:
        rate = self.rates[kind]
        window = timedelta(seconds=rate.window)
        recent = select(RateHit.at).where(
            RateHit.kind == kind, RateHit.key == key, col(RateHit.at) > now - window
        )
        count = session.exec(select(sa.func.count()).select_from(recent.subquery())).one()
        if count < rate.limit:
            return 0.0
        # the place that frees up first: the one that makes room for one more
        freed = session.exec(
            recent.order_by(col(RateHit.at)).offset(count - rate.limit).limit(1)
        ).one()
        return max((freed + window - now).total_seconds(), 1.0)

    def check(self, session: Session, now: datetime, **keys: str) -> None:
        """Count one attempt against every key, or refuse it (counting nothing).

        `keys` maps a rate's kind to this attempt's key, e.g. address="198.51.100.7",
        target="hooks.example.com". The caller commits the session (its own transaction, so
        the count stays even when the attempt fails later) or rolls it back on refusal.
        """
        hashed = {kind: _digest(key) for kind, key in keys.items()}
        for kind in sorted(hashed):
            advisory_lock(session, f"rate:{kind}:{hashed[kind]}")
        waits = {kind: self._wait(session, kind, key, now) for kind, key in hashed.items()}
        worst = max(waits, key=lambda kind: waits[kind])
        if waits[worst] > 0:
            raise TooManyRequests(
                f"too many subscriptions from this {_words[worst]}; try again later",
                retry_after=math.ceil(waits[worst]),
            )
        for kind, key in hashed.items():
            session.add(RateHit(kind=kind, key=key, at=now))
        longest = max(rate.window for rate in self.rates.values())
        session.execute(
            sa.delete(RateHit).where(col(RateHit.at) <= now - timedelta(seconds=longest))
        )
        session.flush()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_words = {"address": "address", "target": "target"}


def subscribe_throttle(per_address: int, per_target: int) -> Throttle:
    """The throttle public subscribe endpoints share: per client address and per target."""
    return Throttle({"address": Rate(per_address), "target": Rate(per_target)})


def target_host(url: str) -> str:
    """The host a webhook URL points at, as compared for caps and rate limits."""
    host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    if not host:
        raise InvalidInput("webhook URL has no host")
    return host


def webhook_count_for_host(session: Session, host: str) -> int:
    """Webhook subscribers whose URL points at this host (any scheme, port or path)."""
    like = "%" + host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    candidates = session.exec(
        select(Subscriber.url).where(sa.func.lower(col(Subscriber.url)).like(like, escape="\\"))
    )
    count = 0
    for url in candidates:
        try:
            if target_host(url) == host:
                count += 1
        except (InvalidInput, ValueError):
            continue
    return count


def check_host_cap(count: int, host: str, limit: int) -> None:
    """Refuse one more subscription for a host that already holds `limit` of them."""
    if count >= limit:
        raise Conflict(f"{host} already has {count} subscriptions, the most one host may have")


def verify_webhook(
    url: str, *, allow_private: bool, timeout: float, client: httpx.Client | None = None
) -> None:
    """POST a challenge to the endpoint; it must answer 2xx with the challenge in its body.

    The request: `{"type": "webhook.verification", "challenge": "<random>"}` as JSON, the
    challenge also in the `webhook-verification` header. The answer may be the challenge as
    plain text or JSON `{"challenge": "<random>"}`. InvalidInput (422) says what went wrong.
    """
    challenge = secrets.token_urlsafe(24)
    body = json.dumps({"type": VERIFICATION_TYPE, "challenge": challenge}).encode()
    headers = {
        "content-type": "application/json",
        VERIFICATION_HEADER: challenge,
        "user-agent": "Pharos-Webhooks/1.0 (verification)",
    }
    http = client or outbound.client(allow_private=allow_private, timeout=timeout)
    try:
        with http.stream("POST", url, content=body, headers=headers) as response:
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= ANSWER_LIMIT:
                    break
            status = response.status_code
    except httpx.HTTPError as exc:
        raise InvalidInput(f"the webhook endpoint did not answer its verification: {exc}") from exc
    finally:
        if client is None:
            http.close()
    if not 200 <= status < 300:
        raise InvalidInput(f"the webhook endpoint answered its verification with HTTP {status}")
    if challenge.encode() not in answer[:ANSWER_LIMIT]:
        raise InvalidInput(
            "the webhook endpoint did not echo the verification challenge "
            f"(answer the {VERIFICATION_HEADER} value, or JSON with its challenge)"
        )

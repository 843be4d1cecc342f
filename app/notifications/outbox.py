"""The transactional outbox: events and their deliveries, claimed and settled by workers.

emit() runs inside the transaction of the change it reports, so a rolled-back change sends
nothing and a committed one is never lost. Workers claim due deliveries under a lease (with
FOR UPDATE SKIP LOCKED on PostgreSQL), send them, and settle each one with its outcome.

Each subscriber has a queue in event order: only its oldest pending delivery can be claimed, so
while it is retried the later ones wait, and a subscriber never hears "resolved" before
"monitoring". A later event about the same subject (one incident, one component) supersedes an
earlier one that failed and waits for its retry: the earlier is folded into it (each event
carries the whole state of its subject). Different subscribers are sent to in parallel.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.db import chunked, insert_with_ids
from app.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    OutboxEvent,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
    new_ids,
)
from app.notifications import links, messages, payloads
from app.notifications.webhooks import Outcome

# Delay before attempt n (n = 0 is the first try): about a day of retries in all.
RETRY_SCHEDULE = [
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
JITTER = 0.1  # +-10% so retries of one outage don't arrive as a wave
# Quarantine after this many failures in a row spanning at least this long (Statuspage-like).
# A subscriber's queue is tried one message at a time: its oldest runs through the schedule
# above (eight attempts), then the next one is tried, and two more failures quarantine it.
QUARANTINE_FAILURES = 10
QUARANTINE_AFTER = timedelta(hours=1)
# A mail server refusing an address for good (5xx) this many times makes it undeliverable
# (a 4xx is temporary and retried on the schedule).
PERMANENT_TRIES = 3
# Subscribers events are queued for: quarantined ones keep theirs until reactivated.
HEARING = (SubscriberStatus.active, SubscriberStatus.quarantined)


@dataclass(frozen=True)
class NewEvent:
    """An event to record: see emit()."""

    event_type: str
    payload: dict[str, object]
    component_ids: set[str] | None
    subject: str | None = None


def emit(
    session: Session,
    *,
    event_type: str,
    payload: dict[str, object],
    component_ids: set[str] | None,
    now: datetime,
    subject: str | None = None,
) -> OutboxEvent:
    """Record an event and a pending delivery for every subscriber it concerns.

    component_ids None means the event concerns everyone; otherwise subscribers with a
    component filter get it only when the filter and the event's components meet. `subject`
    names what the event is about; it supersedes earlier failed deliveries about the same.
    """
    event = OutboxEvent(type=event_type, created_at=now, payload=payload, subject=subject)
    session.add(event)
    session.flush()
    assert event.id is not None
    _queue(session, [(event.id, NewEvent(event_type, payload, component_ids, subject))], now=now)
    return event


def emit_many(session: Session, events: Sequence[NewEvent], *, now: datetime) -> list[int]:
    """Record many events (in this order) as emit() records each, in a constant number of
    statements: one multi-row insert of the events, one read of the subscribers, one insert
    of the deliveries. For a change that touches thousands of components. Returns their ids."""
    if not events:
        return []
    ids = insert_with_ids(
        session,
        OutboxEvent,
        [
            {"type": e.event_type, "created_at": now, "payload": e.payload, "subject": e.subject}
            for e in events
        ],
    )
    _queue(session, list(zip(ids, events, strict=True)), now=now)
    return ids


@dataclass
class Audience:
    """Who hears what, read once: subscribers of everything, of components, of one incident."""

    everything: list[tuple[str, str]] = field(default_factory=list)
    by_component: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    by_subject: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def recipients(self, event: NewEvent) -> list[str]:
        """The subscribers `event` is queued for: a webhook hears every event; email and chat
        only those written for people."""
        for_people = event.event_type in messages.FOR_PEOPLE
        concerned = dict(self.everything)
        for component_id in event.component_ids or ():
            concerned.update(self.by_component.get(component_id, ()))
        concerned.update(self.by_subject.get(event.subject or "", ()))
        return [
            subscriber_id
            for subscriber_id, channel in concerned.items()
            if for_people or channel == SubscriberChannel.webhook
        ]


def hearing(session: Session) -> list[tuple[Any, ...]]:
    """The subscribers events are queued for, as plain rows (id, components, channel,
    incident), in id order: what an Audience is made from."""
    return [
        tuple(row)
        for row in session.exec(
            select(
                Subscriber.id, Subscriber.component_ids, Subscriber.channel, Subscriber.incident_id
            )
            .where(col(Subscriber.status).in_(HEARING))
            .order_by(col(Subscriber.id))
        )
    ]


def audience(rows: Sequence[tuple[Any, ...]]) -> Audience:
    """Who hears about each component (filtered subscribers), about one incident, and who
    hears everything (`rows` as hearing() reads them)."""
    found = Audience()
    by_component: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_subject: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for subscriber_id, wanted, channel, incident_id in rows:
        if incident_id is not None:
            by_subject[f"incident:{incident_id}"].append((subscriber_id, channel))
        elif wanted is None:
            found.everything.append((subscriber_id, channel))
        else:
            for component_id in set(wanted):
                by_component[component_id].append((subscriber_id, channel))
    found.by_component, found.by_subject = dict(by_component), dict(by_subject)
    return found


def hold_subscribers(session: Session, subscriber_ids: set[str]) -> set[str]:
    """Those of these subscribers still there, held until the transaction ends so that none
    is deleted (an unsubscribe) before deliveries naming it are inserted: on PostgreSQL a
    delete committed between reading the subscribers and that insert would break its foreign
    key. FOR KEY SHARE: the lock the insert's foreign key check takes anyway, a little earlier;
    a delete waits for the commit. All of them on SQLite (the write lock holds everything)."""
    if session.get_bind().dialect.name != "postgresql":
        return subscriber_ids
    found: set[str] = set()
    for chunk in chunked(sorted(subscriber_ids)):
        found.update(
            session.execute(
                sa.select(col(Subscriber.id))
                .where(col(Subscriber.id).in_(chunk))
                .order_by(col(Subscriber.id))
                .with_for_update(key_share=True)
            ).scalars()
        )
    return found


def _queue(session: Session, events: list[tuple[int, NewEvent]], *, now: datetime) -> None:
    """A pending delivery of each event for every subscriber it concerns."""
    heard = audience(hearing(session))
    rows: list[dict[str, object]] = []
    pairs: set[tuple[str, str]] = set()  # (subscriber, subject) of the deliveries queued
    for event_id, event in events:
        for subscriber_id in heard.recipients(event):
            rows.append(
                {
                    "event_id": event_id,
                    "subscriber_id": subscriber_id,
                    "status": DeliveryStatus.pending,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            if event.subject is not None:
                pairs.add((subscriber_id, event.subject))
    if rows:
        # Who unsubscribed since they were read hears nothing.
        there = hold_subscribers(session, {str(row["subscriber_id"]) for row in rows})
        rows = [row for row in rows if row["subscriber_id"] in there]
        pairs = {pair for pair in pairs if pair[0] in there}
    if rows:
        for row, delivery_id in zip(rows, new_ids(len(rows)), strict=True):
            row["id"] = delivery_id
        # The table, not the model: thousands of rows skip the ORM's bulk bookkeeping.
        session.execute(sa.insert(Delivery.__table__), rows)  # type: ignore[attr-defined]
    if pairs:
        fold_retried(session, pairs, before=max(event_id for event_id, _ in events), now=now)


def emit_to(
    session: Session,
    subscriber_id: str,
    *,
    event_type: str,
    payload: dict[str, object],
    now: datetime,
) -> OutboxEvent:
    """Record an event for one subscriber only (an email address's confirmation)."""
    event = OutboxEvent(type=event_type, created_at=now, payload=payload)
    session.add(event)
    session.flush()
    assert event.id is not None
    session.add(
        Delivery(
            event_id=event.id, subscriber_id=subscriber_id, next_attempt_at=now, created_at=now
        )
    )
    return event


def fold_retried(
    session: Session, pairs: set[tuple[str, str]], *, before: int, now: datetime
) -> None:
    """Supersede failed, not in-flight deliveries about a subject, for the subscribers that
    get a newer event about it (`pairs`: subscriber, subject): they hear the newer state
    instead, in its place. Only a queue's head is ever tried, so the failed deliveries are
    few (about one per subscriber): they are read, matched here, and superseded at once."""
    failed = session.exec(
        select(Delivery.id, Delivery.subscriber_id, OutboxEvent.subject)
        .join(OutboxEvent, col(OutboxEvent.id) == Delivery.event_id)
        .where(col(Delivery.status) == DeliveryStatus.pending)
        .where(col(Delivery.attempts) > 0)
        .where(sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
        .where(col(OutboxEvent.subject).is_not(None))
        .where(col(Delivery.event_id) < before)
    ).all()
    stale = [d for d, subscriber, subject in failed if (subscriber, subject) in pairs]
    for chunk in chunked(stale):
        session.execute(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(chunk))
            .values(status=DeliveryStatus.superseded, lease_until=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to send one delivery, detached from the session."""

    delivery_id: str
    subscriber_id: str
    url: str  # an http(s) URL, or mailto:<address> for email
    secret: str
    body: bytes  # the signed webhook body (webhooks only)
    attempt: int
    lease_until: datetime  # the claim this job belongs to; settle() ignores a stale one
    channel: SubscriberChannel = SubscriberChannel.webhook
    event_type: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # what email and chat are made from
    token: str = ""  # the subscriber's signed link token (confirm, manage, unsubscribe)
    event_id: int = 0
    language: str | None = None  # the page language a person subscribed from

    @property
    def msg_id(self) -> str:
        """The Standard Webhooks message id: stable across retries."""
        return f"msg_{self.delivery_id}"


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    public_url: str,
    link_key: bytes,
) -> list[Job]:
    """Reserve up to `limit` due deliveries of active subscribers for this worker: for each
    subscriber only the oldest pending one (its queue's head), so a subscriber's messages go
    out one at a time, in event order."""
    earlier = aliased(Delivery)
    head = ~sa.exists().where(
        col(earlier.subscriber_id) == col(Delivery.subscriber_id),
        col(earlier.status) == DeliveryStatus.pending,
        col(earlier.event_id) < col(Delivery.event_id),
    )
    due = (
        select(Delivery.id)
        .join(Subscriber, col(Subscriber.id) == Delivery.subscriber_id)
        .where(Delivery.status == DeliveryStatus.pending)
        .where(col(Delivery.next_attempt_at) <= now)
        .where(sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now))
        # Pending (unconfirmed) subscribers only ever have their confirmation queued.
        .where(col(Subscriber.status).in_((SubscriberStatus.active, SubscriberStatus.pending)))
        .where(head)
        .order_by(col(Delivery.next_attempt_at), col(Delivery.event_id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    until = now + lease
    ids = list(session.exec(due))
    if not ids:
        return []
    session.execute(sa.update(Delivery).where(col(Delivery.id).in_(ids)).values(lease_until=until))
    rows = session.exec(
        select(Delivery, Subscriber)
        .join(Subscriber, col(Subscriber.id) == Delivery.subscriber_id)
        .where(col(Delivery.id).in_(ids))
    ).all()
    # Each event once (a fan-out's batch is one event: its payload is read and decoded once).
    events = {
        event.id: event
        for event in session.exec(
            select(OutboxEvent).where(col(OutboxEvent.id).in_({d.event_id for d, _ in rows}))
        )
    }
    jobs = []
    for delivery, subscriber in rows:
        event = events[delivery.event_id]
        link = links.sign(link_key, subscriber.id, subscriber.unsubscribe_token)
        webhook = subscriber.channel == SubscriberChannel.webhook
        jobs.append(
            Job(
                delivery_id=delivery.id,
                subscriber_id=subscriber.id,
                url=subscriber.url,
                secret=subscriber.secret,
                body=_webhook_body(event, link, public_url) if webhook else b"",
                attempt=delivery.attempts,
                lease_until=until,
                channel=subscriber.channel,
                event_type=event.type,
                payload={} if webhook else event.payload,
                token=link,
                event_id=delivery.event_id,
                language=subscriber.language,
            )
        )
    return jobs


def _webhook_body(event: OutboxEvent, link: str, public_url: str) -> bytes:
    return json.dumps(
        payloads.envelope(
            event_type=event.type,
            payload=event.payload,
            generated_at=event.created_at,
            unsubscribe_url=f"{public_url}/subscriptions/{link}/unsubscribe",
        ),
        separators=(",", ":"),
    ).encode()


def _next_delay(attempts_made: int) -> timedelta | None:
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts_made]
    return base * (1 + random.uniform(-JITTER, JITTER))  # noqa: S311  (not for security)


def settle(session: Session, results: list[tuple[Job, Outcome]], *, now: datetime) -> None:
    """Record attempts and move each delivery on: delivered, retried later, or given up."""
    _settle_delivered(session, [(job, outcome) for job, outcome in results if outcome.ok], now=now)
    _settle_failed(session, [(job, outcome) for job, outcome in results if not outcome.ok], now=now)
    session.flush()


def _settle_delivered(
    session: Session, results: list[tuple[Job, Outcome]], *, now: datetime
) -> None:
    """The common case of a fan-out, in a few statements for the whole batch (not a row at a
    time): deliveries still held by this claim become delivered, each attempt is logged, and
    each subscriber's failure streak ends."""
    # By primary key alone: with the status in an UPDATE's WHERE clause SQLite walks the due
    # index through every pending delivery of the fan-out, for each batch.
    leases = {job.delivery_id: job.lease_until for job, _ in results}
    # Not when the lease ran out and another claim (or a redelivery) owns it now.
    held = {
        delivery_id
        for delivery_id, status, lease_until in session.execute(
            sa.select(col(Delivery.id), col(Delivery.status), col(Delivery.lease_until))
            .where(col(Delivery.id).in_(sorted(leases)))
            .with_for_update()
        )
        if status == DeliveryStatus.pending and lease_until == leases[delivery_id]
    }
    by_code: dict[int | None, list[str]] = {}
    for job, outcome in results:
        if job.delivery_id in held:
            by_code.setdefault(outcome.status_code, []).append(job.delivery_id)
    for status_code, ids in by_code.items():
        session.execute(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(sorted(ids)))
            .values(
                status=DeliveryStatus.delivered,
                delivered_at=now,
                attempts=col(Delivery.attempts) + 1,
                lease_until=None,
                last_status_code=status_code,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
    if not held:
        return
    done = [(job, outcome) for job, outcome in results if job.delivery_id in held]
    session.execute(
        sa.insert(DeliveryAttempt),
        [
            {
                "delivery_id": job.delivery_id,
                "at": now,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "error": None,
            }
            for job, outcome in done
        ],
    )
    session.execute(
        sa.update(Subscriber)
        .where(col(Subscriber.id).in_(sorted({job.subscriber_id for job, _ in done})))
        .values(consecutive_failures=0, failing_since=None, last_success_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _settle_failed(session: Session, results: list[tuple[Job, Outcome]], *, now: datetime) -> None:
    if not results:
        return
    delivery_ids = sorted(job.delivery_id for job, _ in results)
    subscriber_ids = sorted({job.subscriber_id for job, _ in results})
    deliveries = {
        d.id: d
        for d in session.exec(
            select(Delivery).where(col(Delivery.id).in_(delivery_ids)).with_for_update()
        )
    }
    subscribers = {
        s.id: s
        for s in session.exec(
            select(Subscriber).where(col(Subscriber.id).in_(subscriber_ids)).with_for_update()
        )
    }
    for job, outcome in results:
        delivery = deliveries.get(job.delivery_id)
        subscriber = subscribers.get(job.subscriber_id)
        if delivery is None or subscriber is None:
            continue  # the subscriber was deleted meanwhile
        if delivery.status != DeliveryStatus.pending or delivery.lease_until != job.lease_until:
            continue  # the lease ran out and another claim (or a redelivery) owns it now
        session.add(
            DeliveryAttempt(
                delivery_id=delivery.id,
                at=now,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
            )
        )
        delivery.attempts += 1
        delivery.lease_until = None
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        subscriber.updated_at = now
        if outcome.status_code == 410 and job.channel != SubscriberChannel.email:
            delivery.status = DeliveryStatus.cancelled
            _disable(session, subscriber, reason="the endpoint answered 410 Gone")
        elif (
            job.channel == SubscriberChannel.email
            and outcome.status_code is not None
            and outcome.status_code >= 500
            and delivery.attempts >= PERMANENT_TRIES
        ):
            delivery.status = DeliveryStatus.failed
            _disable(
                session,
                subscriber,
                reason=f"undeliverable: {outcome.error or outcome.status_code}"[:255],
                status=SubscriberStatus.undeliverable,
            )
        else:
            _failed(delivery, subscriber, now=now)
            if delivery.status == DeliveryStatus.pending:
                _fold_into_later(session, delivery)


def _fold_into_later(session: Session, delivery: Delivery) -> None:
    """A failed delivery waiting for its retry gives way to a later one about its subject."""
    subject = session.exec(
        select(OutboxEvent.subject).where(OutboxEvent.id == delivery.event_id)
    ).one()
    if subject is None:
        return
    later = session.exec(
        select(Delivery.id)
        .join(OutboxEvent, col(OutboxEvent.id) == Delivery.event_id)
        .where(Delivery.subscriber_id == delivery.subscriber_id)
        .where(Delivery.status == DeliveryStatus.pending)
        .where(col(Delivery.event_id) > delivery.event_id)
        .where(OutboxEvent.subject == subject)
        .limit(1)
    ).first()
    if later is not None:
        delivery.status = DeliveryStatus.superseded


def _failed(delivery: Delivery, subscriber: Subscriber, *, now: datetime) -> None:
    delay = _next_delay(delivery.attempts)
    if delay is None:
        delivery.status = DeliveryStatus.failed
    else:
        delivery.next_attempt_at = now + delay
    subscriber.consecutive_failures += 1
    subscriber.failing_since = subscriber.failing_since or now
    if (
        subscriber.status == SubscriberStatus.active
        and subscriber.consecutive_failures >= QUARANTINE_FAILURES
        and now - subscriber.failing_since >= QUARANTINE_AFTER
    ):
        subscriber.status = SubscriberStatus.quarantined
        subscriber.quarantined_at = now


def _disable(
    session: Session,
    subscriber: Subscriber,
    *,
    reason: str,
    status: SubscriberStatus = SubscriberStatus.disabled,
) -> None:
    subscriber.status = status
    subscriber.disabled_reason = reason
    session.execute(
        sa.update(Delivery)
        .where(col(Delivery.subscriber_id) == subscriber.id)
        .where(col(Delivery.status) == DeliveryStatus.pending)
        .values(status=DeliveryStatus.cancelled, lease_until=None)
    )


def release_held(session: Session, subscriber_id: str, *, now: datetime) -> int:
    """Make a subscriber's held deliveries due now (after reactivation); returns how many."""
    result = session.execute(
        sa.update(Delivery)
        .where(col(Delivery.subscriber_id) == subscriber_id)
        .where(col(Delivery.status) == DeliveryStatus.pending)
        .values(next_attempt_at=now, lease_until=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def backlog(session: Session, *, now: datetime) -> tuple[int, float]:
    """Pending deliveries of active subscribers and the age in seconds of the oldest."""
    count, oldest = session.exec(
        select(sa.func.count(), sa.func.min(Delivery.created_at))
        .join(Subscriber, col(Subscriber.id) == Delivery.subscriber_id)
        .where(Delivery.status == DeliveryStatus.pending)
        .where(Subscriber.status == SubscriberStatus.active)
    ).one()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return int(count), max(age, 0.0)

"""Subscriber use cases: subscribe, quarantine, reactivate, unsubscribe, redeliver."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.db import get_one
from app.errors import Conflict, InvalidInput, NotFound
from app.models import (
    Component,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    OutboxEvent,
    Subscriber,
    SubscriberStatus,
)
from app.notifications import outbox, targets, webhooks
from app.subscribers.schemas import AttemptPublic, DeliveryPublic, SubscriberCreate

STATUS_ORDER = {
    SubscriberStatus.quarantined: 0,
    SubscriberStatus.disabled: 1,
    SubscriberStatus.active: 2,
}


def subscribe(
    session: Session, *, data: SubscriberCreate, allow_private: bool, actor: str, now: datetime
) -> tuple[Subscriber, str]:
    """Add a webhook subscriber; returns it with its signing secret (shown once)."""
    url = data.url.strip()
    try:
        targets.check_target(url, allow_private=allow_private)
    except targets.UnsafeTarget as exc:
        raise InvalidInput(f"webhook URL refused: {exc}") from exc
    wanted = None
    if data.component_ids is not None:
        wanted = sorted(set(data.component_ids))
        if not wanted:
            raise InvalidInput("component_ids is empty; leave it out to hear about everything")
        known = set(session.exec(select(Component.id).where(col(Component.id).in_(wanted))))
        missing = [i for i in wanted if i not in known]
        if missing:
            raise InvalidInput(f"unknown component id(s): {', '.join(missing)}")
    if session.exec(select(Subscriber.id).where(Subscriber.url == url)).first():
        raise Conflict("this URL is already subscribed")
    secret = webhooks.new_secret()
    subscriber = Subscriber(
        url=url,
        email=data.email,
        secret=secret,
        component_ids=wanted,
        unsubscribe_token=secrets.token_urlsafe(24),
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
            session.add(subscriber)
    except sa.exc.IntegrityError as exc:  # a concurrent subscribe of the same URL
        raise Conflict("this URL is already subscribed") from exc
    audit.record(
        session,
        actor,
        "subscriber.created",
        subscriber.id,
        at=now,
        data={"url": url, "component_ids": wanted},
    )
    return subscriber, secret


def list_subscribers(session: Session) -> list[Subscriber]:
    """Every subscriber, quarantined ones first."""
    found = list(session.exec(select(Subscriber).order_by(col(Subscriber.created_at))))
    return sorted(found, key=lambda s: STATUS_ORDER[s.status])


def get_subscriber(session: Session, subscriber_id: str) -> Subscriber:
    """One subscriber or NotFound."""
    return get_one(session, Subscriber, subscriber_id, "subscriber")


def _set_status(
    session: Session, subscriber_id: str, status: SubscriberStatus, *, actor: str, now: datetime
) -> Subscriber:
    subscriber = get_subscriber(session, subscriber_id)
    subscriber.status = status
    subscriber.updated_at = now
    if status == SubscriberStatus.quarantined:
        subscriber.quarantined_at = now
    else:
        subscriber.quarantined_at = None
        subscriber.disabled_reason = None
        subscriber.consecutive_failures = 0
        subscriber.failing_since = None
        outbox.release_held(session, subscriber.id, now=now)
    session.add(subscriber)
    audit.record(session, actor, f"subscriber.{status.value}", subscriber.id, at=now)
    return subscriber


def quarantine(session: Session, subscriber_id: str, *, actor: str, now: datetime) -> Subscriber:
    """Stop sending to a subscriber; its deliveries wait until it is reactivated."""
    return _set_status(session, subscriber_id, SubscriberStatus.quarantined, actor=actor, now=now)


def reactivate(session: Session, subscriber_id: str, *, actor: str, now: datetime) -> Subscriber:
    """Send to a subscriber again; deliveries held meanwhile go out now."""
    return _set_status(session, subscriber_id, SubscriberStatus.active, actor=actor, now=now)


def delete_subscriber(session: Session, subscriber_id: str, *, actor: str, now: datetime) -> None:
    """Remove a subscriber and its delivery log."""
    subscriber = get_subscriber(session, subscriber_id)
    session.delete(subscriber)
    audit.record(
        session, actor, "subscriber.deleted", subscriber_id, at=now, data={"url": subscriber.url}
    )


def unsubscribe(session: Session, subscriber: Subscriber, *, now: datetime) -> Subscriber:
    """Remove the subscriber an unsubscribe link belongs to."""
    session.delete(subscriber)
    audit.record(
        session,
        "subscriber",
        "subscriber.unsubscribed",
        subscriber.id,
        at=now,
        data={"url": subscriber.url},
    )
    return subscriber


def _present_deliveries(session: Session, deliveries: list[Delivery]) -> list[DeliveryPublic]:
    ids = [d.id for d in deliveries]
    attempts: dict[str, list[AttemptPublic]] = {i: [] for i in ids}
    if ids:
        for a in session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_(ids))
            .order_by(col(DeliveryAttempt.id))
        ):
            attempts[a.delivery_id].append(
                AttemptPublic(
                    at=a.at, status_code=a.status_code, latency_ms=a.latency_ms, error=a.error
                )
            )
    event_ids = {d.event_id for d in deliveries}
    types: dict[int, str] = {}
    if event_ids:
        query = select(OutboxEvent.id, OutboxEvent.type).where(col(OutboxEvent.id).in_(event_ids))
        types = {event_id: kind for event_id, kind in session.exec(query) if event_id is not None}
    return [
        DeliveryPublic(
            id=d.id,
            webhook_id=f"msg_{d.id}",
            event_type=types.get(d.event_id, ""),
            subscriber_id=d.subscriber_id,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.pending else None,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            attempt_log=attempts[d.id],
        )
        for d in deliveries
    ]


def deliveries_of(session: Session, subscriber_id: str, *, limit: int) -> list[DeliveryPublic]:
    """A subscriber's newest deliveries with every attempt: the delivery log."""
    get_subscriber(session, subscriber_id)
    found = list(
        session.exec(
            select(Delivery)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(col(Delivery.created_at).desc(), col(Delivery.id))
            .limit(limit)
        )
    )
    return _present_deliveries(session, found)


def get_delivery(session: Session, delivery_id: str) -> DeliveryPublic:
    """One delivery with its attempts."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id!r} does not exist")
    (public,) = _present_deliveries(session, [delivery])
    return public


def redeliver(session: Session, delivery_id: str, *, actor: str, now: datetime) -> None:
    """Send a delivery again from the start of the retry schedule (same webhook-id)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id!r} does not exist")
    subscriber = get_subscriber(session, delivery.subscriber_id)
    if subscriber.status == SubscriberStatus.disabled:
        raise Conflict("the subscriber is disabled; reactivate it first")
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    session.add(delivery)
    audit.record(session, actor, "delivery.redelivered", delivery.id, at=now)


@dataclass(frozen=True)
class DeliveryHealth:
    """How delivery to subscribers is doing, for the dashboard."""

    by_status: dict[SubscriberStatus, int]
    pending: int
    oldest_pending_seconds: float
    failed_last_day: int


def delivery_health(session: Session, *, now: datetime) -> DeliveryHealth:
    """Subscribers by state, the pending backlog and the deliveries given up in a day."""
    counts = session.exec(
        select(Subscriber.status, sa.func.count()).group_by(col(Subscriber.status))
    ).all()
    pending, age = outbox.backlog(session, now=now)
    failed: int = session.exec(
        select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.status == DeliveryStatus.failed)
        .where(col(Delivery.created_at) >= now - timedelta(days=1))
    ).one()
    return DeliveryHealth(
        by_status={SubscriberStatus(status): n for status, n in counts},
        pending=pending,
        oldest_pending_seconds=age,
        failed_last_day=failed,
    )

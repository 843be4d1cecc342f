"""Staff API for webhook subscribers and deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import StaffDep
from app.models import Subscriber
from app.subscribers import service
from app.subscribers.schemas import (
    DeliveryPublic,
    SubscriberCreate,
    SubscriberCreated,
    SubscriberPublic,
)

router = APIRouter(prefix="/api/v1", tags=["subscribers"])


def _public(subscriber: Subscriber) -> SubscriberPublic:
    return SubscriberPublic.model_validate(subscriber, from_attributes=True)


@router.post("/subscribers", status_code=status.HTTP_201_CREATED)
def subscribe(data: SubscriberCreate, staff: StaffDep) -> SubscriberCreated:
    """Add a webhook subscriber; the answer carries its signing secret, shown only now."""
    subscriber, secret = service.subscribe(
        staff.session,
        data=data,
        allow_private=staff.settings.webhook_allow_private,
        actor=staff.actor,
        now=staff.now,
    )
    return SubscriberCreated(**_public(subscriber).model_dump(), secret=secret)


@router.get("/subscribers")
def list_subscribers(staff: StaffDep) -> list[SubscriberPublic]:
    """All subscribers, quarantined ones first."""
    return [_public(s) for s in service.list_subscribers(staff.session)]


@router.get("/subscribers/{subscriber_id}")
def get_subscriber(subscriber_id: str, staff: StaffDep) -> SubscriberPublic:
    """One subscriber."""
    return _public(service.get_subscriber(staff.session, subscriber_id))


@router.post("/subscribers/{subscriber_id}/quarantine")
def quarantine(subscriber_id: str, staff: StaffDep) -> SubscriberPublic:
    """Hold deliveries to a subscriber."""
    return _public(
        service.quarantine(staff.session, subscriber_id, actor=staff.actor, now=staff.now)
    )


@router.post("/subscribers/{subscriber_id}/reactivate")
def reactivate(subscriber_id: str, staff: StaffDep) -> SubscriberPublic:
    """Resume deliveries; held ones are sent now."""
    return _public(
        service.reactivate(staff.session, subscriber_id, actor=staff.actor, now=staff.now)
    )


@router.delete("/subscribers/{subscriber_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscriber(subscriber_id: str, staff: StaffDep) -> Response:
    """Remove a subscriber."""
    service.delete_subscriber(staff.session, subscriber_id, actor=staff.actor, now=staff.now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/subscribers/{subscriber_id}/deliveries")
def deliveries(
    subscriber_id: str, staff: StaffDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeliveryPublic]:
    """The subscriber's delivery log, newest first, with every attempt."""
    return service.deliveries_of(staff.session, subscriber_id, limit=limit)


@router.get("/deliveries/{delivery_id}")
def get_delivery(delivery_id: str, staff: StaffDep) -> DeliveryPublic:
    """One delivery with its attempts."""
    return service.get_delivery(staff.session, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(delivery_id: str, staff: StaffDep) -> DeliveryPublic:
    """Queue a delivery again (same webhook-id, so receivers can deduplicate)."""
    service.redeliver(staff.session, delivery_id, actor=staff.actor, now=staff.now)
    return service.get_delivery(staff.session, delivery_id)

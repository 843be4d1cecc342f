"""Staff API for webhook subscribers and deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.auth.deps import StaffDep
from app.errors import InvalidInput, beyond_schema
from app.models import Subscriber
from app.subscribers import chat_test, people, service
from app.subscribers.schemas import (
    ChatSubscriberCreate,
    DeliveryPublic,
    EmailImported,
    EmailSubscriberCreate,
    SubscriberCreate,
    SubscriberCreated,
    SubscriberPublic,
)

router = APIRouter(prefix="/api/v1", tags=["subscribers"])
UNKNOWN_IDS = "a component id that does not exist"
UNSAFE_URL = (
    "a URL whose host does not resolve, or resolves to an address that is not public "
    "(unless PHAROS_WEBHOOK_ALLOW_PRIVATE)"
)


def _public(subscriber: Subscriber) -> SubscriberPublic:
    return SubscriberPublic.model_validate(subscriber, from_attributes=True)


def _created(response: Response, subscriber: Subscriber) -> SubscriberPublic:
    """The new subscriber, its address in `Location`."""
    response.headers["Location"] = router.url_path_for(
        "get_subscriber", subscriber_id=subscriber.id
    )
    return _public(subscriber)


@router.post(
    "/subscribers",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(UNSAFE_URL, UNKNOWN_IDS),
)
def subscribe(data: SubscriberCreate, staff: StaffDep, response: Response) -> SubscriberCreated:
    """Add a webhook subscriber; the answer carries its signing secret, shown only now."""
    subscriber, secret = service.subscribe(
        staff.session,
        data=data,
        allow_private=staff.settings.webhook_allow_private,
        actor=staff.actor,
        now=staff.now,
    )
    return SubscriberCreated(**_created(response, subscriber).model_dump(), secret=secret)


@router.post(
    "/subscribers/email",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(
        "an address email-validator refuses (RFC 5321/5322 shape, no DNS lookup)", UNKNOWN_IDS
    ),
)
def add_email(data: EmailSubscriberCreate, staff: StaffDep, response: Response) -> SubscriberPublic:
    """Add an email subscriber without confirmation (staff vouch for the address)."""
    return _created(
        response,
        people.add_email(
            staff.session,
            address=data.email,
            component_ids=data.component_ids,
            actor=staff.actor,
            now=staff.now,
        ),
    )


@router.get("/subscribers/email")
def list_email(staff: StaffDep) -> list[SubscriberPublic]:
    """Email subscribers: confirmed (active), pending confirmation, undeliverable."""
    return [_public(s) for s in people.list_email(staff.session, now=staff.now)]


class CsvResponse(Response):
    """CSV text (the OpenAPI document says text/csv, as it is sent)."""

    media_type = "text/csv"


CSV_BODY = {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}


@router.get("/subscribers/email.csv", response_class=CsvResponse)
def export_email(staff: StaffDep) -> CsvResponse:
    """Email subscribers as CSV."""
    text = people.export_csv(people.list_email(staff.session, now=staff.now))
    return CsvResponse(
        text, headers={"Content-Disposition": 'attachment; filename="email-subscribers.csv"'}
    )


@router.post(
    "/subscribers/email/import",
    openapi_extra={"requestBody": CSV_BODY},
    responses=beyond_schema(
        "a body that is not UTF-8 CSV with a header row naming an `email` column",
        "more rows than an import takes",
        "a row with an address refused or a component id that does not exist",
    ),
)
async def import_email(request: Request, staff: StaffDep) -> EmailImported:
    """Add the addresses of a CSV body (`email` column, optional `component_ids` separated by
    spaces) as confirmed subscribers; all or nothing; addresses already there are skipped."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV must be UTF-8") from exc
    result = people.import_csv(staff.session, text, actor=staff.actor, now=staff.now)
    return EmailImported(added=result.added, already=result.already)


@router.post(
    "/subscribers/chat",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(
        UNSAFE_URL,
        "no app given and none recognised from the URL",
        "a test message the chat app did not accept (2xx) within 10 s",
        UNKNOWN_IDS,
    ),
)
def add_chat(data: ChatSubscriberCreate, staff: StaffDep, response: Response) -> SubscriberPublic:
    """Subscribe a chat app's incoming webhook; a test message must be accepted first."""
    settings = staff.settings
    return _created(
        response,
        people.subscribe_chat(
            staff.session,
            url=data.url,
            app=data.app,
            component_ids=data.component_ids,
            allow_private=settings.webhook_allow_private,
            send_test=lambda app, url: chat_test.send_test_message(settings, app, url),
            actor=staff.actor,
            now=staff.now,
        ),
    )


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

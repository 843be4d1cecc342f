"""Request and response shapes for subscribers and deliveries."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field
from pydantic.config import JsonDict

from app.models import DeliveryStatus, SubscriberChannel, SubscriberStatus
from app.schemas import ApiTime
from app.text import refuse_bidi

URL_MAX = 2048
# What the OpenAPI document says a target URL looks like (the validators say why one is refused).
HTTP_URL: JsonDict = {"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]"}


class SubscriberCreate(BaseModel):
    """Payload of POST /api/v1/subscribers."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, AfterValidator(refuse_bidi)] = Field(
        min_length=1, max_length=URL_MAX, description="http(s) endpoint", json_schema_extra=HTTP_URL
    )
    email: Annotated[EmailStr, AfterValidator(refuse_bidi)] | None = Field(
        default=None, description="Who to tell about failures"
    )
    component_ids: list[str] | None = Field(
        default=None,
        max_length=500,
        description="Only events touching these components (leave it out for all)",
        json_schema_extra={"minItems": 1},  # the service says why an empty list is refused
    )


class EmailSubscriberCreate(BaseModel):
    """Payload of POST /api/v1/subscribers/email: added without confirmation (staff vouch)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, json_schema_extra={"format": "email"})
    component_ids: list[str] | None = Field(default=None, max_length=500)


class ChatSubscriberCreate(BaseModel):
    """Payload of POST /api/v1/subscribers/chat."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=URL_MAX,
        description="incoming webhook URL",
        json_schema_extra=HTTP_URL,
    )
    app: SubscriberChannel | None = Field(
        default=None, description="slack, teams, discord, google_chat or mattermost (or guessed)"
    )
    component_ids: list[str] | None = Field(default=None, max_length=500)


class EmailImported(BaseModel):
    """What a CSV import did."""

    added: int
    already: int


class SubscriberPublic(BaseModel):
    """A subscriber as staff see it (never its secret)."""

    id: str
    channel: SubscriberChannel = SubscriberChannel.webhook
    confirmed_at: ApiTime | None = None
    incident_id: str | None = None
    url: str
    email: str | None
    component_ids: list[str] | None
    status: SubscriberStatus
    created_at: ApiTime
    quarantined_at: ApiTime | None
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: ApiTime | None
    last_success_at: ApiTime | None


class SubscriberCreated(SubscriberPublic):
    """The answer to subscribing: includes the signing secret, shown this once."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_...)")


class AttemptPublic(BaseModel):
    """One HTTP attempt."""

    at: ApiTime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    """One event for one subscriber, with its attempts."""

    id: str
    webhook_id: str
    event_type: str
    subscriber_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: ApiTime | None
    created_at: ApiTime
    delivered_at: ApiTime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[AttemptPublic]

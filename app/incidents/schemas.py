"""Request and response shapes for incidents (Statuspage field names)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.components.schemas import ComponentPublic
from app.i18n import LANGUAGES
from app.models import ComponentStatus, Impact, IncidentStatus
from app.schemas import (
    COUNT_MAX,
    ApiTime,
    Body,
    Count,
    Flag,
    Name,
    PostmortemBody,
    UtcDatetime,
    only,
)

ComponentChanges = dict[str, ComponentStatus]


class ChargersImpact(BaseModel):
    """Structured impact (a Pharos addition Statuspage clients ignore): N of M chargers."""

    affected: int
    total: int
    text: str = Field(description='"5 of 17 chargers affected"')


def chargers_text(affected: int, total: int) -> str:
    """The impact in words."""
    return f"{affected} of {total} charger{'' if total == 1 else 's'} affected"


class _Chargers(BaseModel):
    chargers_affected: Count | None = Field(
        default=None,
        ge=0,
        le=COUNT_MAX,
        description="Structured impact: chargers affected (with total)",
    )
    chargers_total: Count | None = Field(
        default=None, ge=1, le=COUNT_MAX, description="Of how many chargers"
    )

    @model_validator(mode="after")
    def _pair(self) -> _Chargers:
        if (self.chargers_affected is None) != (self.chargers_total is None):
            raise ValueError("give chargers_affected and chargers_total together")
        affected, total = self.chargers_affected, self.chargers_total
        if affected is not None and total is not None and affected > total:
            raise ValueError("chargers_affected can't exceed chargers_total")
        return self


REALTIME = (
    IncidentStatus.investigating,
    IncidentStatus.identified,
    IncidentStatus.monitoring,
    IncidentStatus.resolved,
)


def _realtime(status: IncidentStatus) -> IncidentStatus:
    if status == IncidentStatus.postmortem:
        raise ValueError("status 'postmortem' is set by publishing a postmortem, not by an update")
    if status not in REALTIME:
        allowed = ", ".join(s.value for s in REALTIME)
        raise ValueError(f"an incident's status is one of {allowed} (maintenance has its own API)")
    return status


# What the document accepts: an incident's statuses and impacts, not maintenance's.
RealtimeStatus = Annotated[IncidentStatus, only(*REALTIME)]
IncidentImpact = Annotated[Impact, only(*(i for i in Impact if i != Impact.maintenance))]


def _incident_impact(value: Impact | None) -> Impact | None:
    if value == Impact.maintenance:
        raise ValueError("'maintenance' is the impact of scheduled maintenance, not incidents")
    return value


def _languages(value: dict[str, str] | None) -> dict[str, str] | None:
    unknown = sorted(set(value or {}) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r}; shipped: {', '.join(LANGUAGES)}")
    return value


# The languages a body may be translated into are the ones shipped; the document lists them.
Translations = Annotated[
    dict[str, Body], Field(json_schema_extra={"propertyNames": {"enum": list(LANGUAGES)}})
]
TRANSLATIONS_HELP = 'The body in other languages, e.g. {"de": "...", "fr": "..."}'


class IncidentCreate(_Chargers):
    """Payload of POST /api/v1/incidents: the incident and its first update."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    status: RealtimeStatus = IncidentStatus.investigating
    body: Body
    body_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_HELP)
    _body_languages = field_validator("body_translations")(_languages)
    components: ComponentChanges = Field(
        default_factory=dict, description="component id -> new status"
    )
    impact_override: IncidentImpact | None = None

    _impact = field_validator("impact_override")(_incident_impact)

    started_at: UtcDatetime | None = Field(
        default=None, description="When the problem began; defaults to display_at"
    )
    display_at: UtcDatetime | None = Field(
        default=None, description="Time shown on the first update; defaults to now"
    )
    deliver_notifications: Flag = True
    backfilled: Flag = Field(default=False, description="Reported after the fact")

    _status = field_validator("status")(_realtime)


class UpdateCreate(_Chargers):
    """Payload of POST /api/v1/incidents/{id}/updates."""

    model_config = ConfigDict(extra="forbid")

    status: RealtimeStatus
    body: Body
    body_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_HELP)
    _body_languages = field_validator("body_translations")(_languages)
    components: ComponentChanges = Field(default_factory=dict)
    display_at: UtcDatetime | None = None
    deliver_notifications: Flag = True

    _status = field_validator("status")(_realtime)


class UpdateEdit(BaseModel):
    """Payload of PATCH /api/v1/incidents/{id}/updates/{update_id}: typo fixes only."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    body: Body | SkipJsonSchema[None] = None
    body_translations: Translations | None = Field(
        default=None, description=TRANSLATIONS_HELP + "; replaces the ones it had"
    )
    _body_languages = field_validator("body_translations")(_languages)
    display_at: UtcDatetime | SkipJsonSchema[None] = None

    @model_validator(mode="before")
    @classmethod
    def _no_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("status" in data or "components" in data):
            raise ValueError(
                "an update's status and components can't be edited; post a new update instead"
            )
        return data


class IncidentEdit(BaseModel):
    """Payload of PATCH /api/v1/incidents/{id}: rename, re-date or re-rate (no notifications).

    The status moves by posting updates, never here.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: Name | SkipJsonSchema[None] = None
    impact_override: IncidentImpact | None = None
    started_at: UtcDatetime | SkipJsonSchema[None] = None

    _impact = field_validator("impact_override")(_incident_impact)

    @model_validator(mode="before")
    @classmethod
    def _no_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("status" in data or "body" in data):
            raise ValueError(
                "an incident's status and messages change by posting an update, not by PATCH"
            )
        return data


class PostmortemDraft(BaseModel):
    """Payload of PUT /api/v1/incidents/{id}/postmortem."""

    model_config = ConfigDict(extra="forbid")

    body: PostmortemBody


class PostmortemPublish(BaseModel):
    """Optional payload of POST /api/v1/incidents/{id}/postmortem/publish."""

    model_config = ConfigDict(extra="forbid")

    published_at: UtcDatetime | None = Field(
        default=None, description="Shown publication time; defaults to now"
    )
    notify_subscribers: Flag | None = Field(
        default=None,
        description="Tell subscribers; by default only on the first publication, so "
        "republishing a fix tells nobody unless this is true",
    )


class AffectedComponentPublic(BaseModel):
    """Statuspage's affected component: code is the component id."""

    code: str
    name: str
    old_status: ComponentStatus
    new_status: ComponentStatus


class IncidentUpdatePublic(BaseModel):
    """One timeline entry as Statuspage returns it."""

    id: str
    status: IncidentStatus
    body: str
    incident_id: str
    created_at: ApiTime
    updated_at: ApiTime
    display_at: ApiTime
    affected_components: list[AffectedComponentPublic] | None
    deliver_notifications: bool
    custom_tweet: str | None = None
    tweet_id: str | None = None


class IncidentPublic(BaseModel):
    """An incident as Statuspage returns it, updates newest first."""

    id: str
    name: str
    status: IncidentStatus
    created_at: ApiTime
    updated_at: ApiTime
    monitoring_at: ApiTime | None
    resolved_at: ApiTime | None
    impact: Impact
    impact_override: Impact | None
    shortlink: str
    started_at: ApiTime
    page_id: str
    backfilled: bool
    postmortem_body: str | None = Field(description="The postmortem draft")
    postmortem_body_last_updated_at: ApiTime | None
    postmortem_published_at: ApiTime | None
    incident_updates: list[IncidentUpdatePublic]
    components: list[ComponentPublic]
    chargers: ChargersImpact | None = Field(
        default=None, description="N of M chargers affected (Pharos; absent when not given)"
    )

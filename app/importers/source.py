"""What Statuspage answers, read into typed objects (its v1 management API and its public v2
API share these field names; each model ignores fields Pharos has no use for)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.models import ComponentStatus, Impact, IncidentStatus
from app.text import strip_controls


class SourceError(Exception):
    """The source could not be read (network, refused key, rate limit, an answer not understood)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Source(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # What XML can't carry is dropped on the way in: an old pasted colour code must not fail
    # an import, nor break the feeds afterwards.
    _xml_safe = field_validator("*", mode="before")(strip_controls)


class SourceComponent(_Source):
    """A component, or a group (group true, with its components' ids)."""

    id: str
    name: str
    status: ComponentStatus = ComponentStatus.operational
    description: str | None = None
    position: int = 1
    showcase: bool = True
    only_show_if_degraded: bool = False
    group: bool = False
    group_id: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    start_date: date | None = None
    components: list[str] | None = None

    @field_validator("start_date", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        # v1 documents start_date as a date-time; the page shows only the day.
        return value[:10] if isinstance(value, str) else value


class SourceGroup(_Source):
    """A component group as /component-groups lists it."""

    id: str
    name: str
    description: str | None = None
    position: int = 1
    components: list[str] = Field(default_factory=list)
    created_at: AwareDatetime
    updated_at: AwareDatetime


class SourceAffected(_Source):
    """One component's status before and after an update."""

    code: str
    name: str
    old_status: ComponentStatus
    new_status: ComponentStatus


class SourceUpdate(_Source):
    """One entry of an incident's timeline."""

    id: str
    status: IncidentStatus
    body: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    display_at: AwareDatetime | None = None
    affected_components: list[SourceAffected] | None = None

    @property
    def shown_at(self) -> datetime:
        """The time the update is shown at (display_at, else when it was written)."""
        return self.display_at or self.created_at


class SourceIncident(_Source):
    """An incident, or a scheduled maintenance (scheduled_for set), with its whole timeline."""

    id: str
    name: str
    status: IncidentStatus
    impact: Impact = Impact.none
    impact_override: Impact | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    started_at: AwareDatetime | None = None
    monitoring_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    scheduled_for: AwareDatetime | None = None
    scheduled_until: AwareDatetime | None = None
    scheduled_remind_prior: bool | int | None = None  # documented as a flag; minutes seen too
    scheduled_reminded_at: AwareDatetime | None = None
    scheduled_auto_in_progress: bool | None = None
    scheduled_auto_completed: bool | None = None
    auto_transition_to_maintenance_state: bool | None = None
    auto_transition_to_operational_state: bool | None = None
    postmortem_body: str | None = None
    postmortem_body_last_updated_at: AwareDatetime | None = None
    postmortem_published_at: AwareDatetime | None = None
    incident_updates: list[SourceUpdate] = Field(default_factory=list)

    @field_validator(
        "postmortem_published_at",
        "scheduled_reminded_at",
        "monitoring_at",
        "resolved_at",
        mode="before",
    )
    @classmethod
    def _no_time(cls, value: Any) -> Any:
        # One client's model types postmortem_published_at as a boolean: false means none.
        return None if value is False or value == "" else value

    @property
    def is_maintenance(self) -> bool:
        """Whether this is a scheduled maintenance."""
        return self.scheduled_for is not None

    @property
    def may_have_postmortem(self) -> bool:
        """Whether the incident object hints at a postmortem worth fetching."""
        return self.status == IncidentStatus.postmortem or any(
            (
                self.postmortem_body,
                self.postmortem_body_last_updated_at,
                self.postmortem_published_at,
            )
        )


class SourcePostmortem(_Source):
    """An incident's postmortem (GitHub-flavoured Markdown): published body and draft."""

    body: str | None = None
    body_draft: str | None = None
    body_updated_at: AwareDatetime | None = None
    body_draft_updated_at: AwareDatetime | None = None
    published_at: AwareDatetime | None = None


class SourceTemplateComponent(_Source):
    """A component a template sets, with the status it sets."""

    id: str
    status: ComponentStatus | None = None


class SourceTemplate(_Source):
    """An incident template."""

    id: str
    name: str
    title: str | None = None
    body: str | None = None
    update_status: IncidentStatus | None = None
    components: list[SourceTemplateComponent] = Field(default_factory=list)


class SourceSubscriber(_Source):
    """A subscriber of any channel (mode: email, sms, webhook, slack, teams, ...)."""

    id: str
    mode: str | None = None
    email: str | None = None
    endpoint: str | None = None
    components: list[str] | None = None
    quarantined_at: AwareDatetime | None = None
    created_at: AwareDatetime | None = None

    @field_validator("components", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        # Some answers list component objects instead of their ids.
        if isinstance(value, list):
            return [v["id"] if isinstance(v, dict) else v for v in value]
        return value


def digest(raw: Any) -> str:
    """SHA-256 of a source object's canonical JSON: equal digests, nothing to update."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], raw: Any, what: str) -> Model:
    """One source object as `model`, or SourceError naming what was not understood."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        ident = raw.get("id", "?") if isinstance(raw, dict) else "?"
        raise SourceError(f"{what} {ident}: {where}: {error['msg']}") from exc

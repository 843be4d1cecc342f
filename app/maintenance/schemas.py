"""Request shapes for scheduled maintenance (Statuspage's option names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.models import ComponentStatus, IncidentStatus
from app.schemas import Body, Count, Flag, Name, UtcDatetime, only

MAINTENANCE_STATUSES = (
    IncidentStatus.scheduled,
    IncidentStatus.in_progress,
    IncidentStatus.verifying,
    IncidentStatus.completed,
)


class MaintenanceCreate(BaseModel):
    """Payload of POST /api/v1/maintenances."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    body: Body
    scheduled_for: UtcDatetime
    scheduled_until: UtcDatetime
    component_ids: list[str] = Field(default_factory=list, max_length=500)
    auto_transition_to_maintenance_state: Flag = Field(
        default=True, description="Components go under_maintenance when it starts"
    )
    auto_transition_to_operational_state: Flag = Field(
        default=True, description="Components go back to operational when it completes"
    )
    scheduled_auto_in_progress: Flag = Field(
        default=True, description="Start by itself at scheduled_for"
    )
    scheduled_auto_completed: Flag = Field(
        default=True, description="Complete by itself at scheduled_until"
    )
    scheduled_remind_prior: Count | None = Field(
        default=None, ge=1, le=7 * 24 * 60, description="Minutes before the start to remind"
    )
    deliver_notifications: Flag = True

    @model_validator(mode="after")
    def _window(self) -> MaintenanceCreate:
        if self.scheduled_until <= self.scheduled_for:
            raise ValueError("scheduled_until must be later than scheduled_for")
        return self


class MaintenanceChange(BaseModel):
    """Payload of PATCH /api/v1/maintenances/{id}; only while it is still scheduled."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    scheduled_for: UtcDatetime | SkipJsonSchema[None] = None
    scheduled_until: UtcDatetime | SkipJsonSchema[None] = None
    auto_transition_to_maintenance_state: Flag | SkipJsonSchema[None] = None
    auto_transition_to_operational_state: Flag | SkipJsonSchema[None] = None
    scheduled_auto_in_progress: Flag | SkipJsonSchema[None] = None
    scheduled_auto_completed: Flag | SkipJsonSchema[None] = None
    scheduled_remind_prior: Count | None = Field(default=None, ge=1, le=7 * 24 * 60)


class MaintenanceUpdateCreate(BaseModel):
    """Payload of POST /api/v1/maintenances/{id}/updates."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[IncidentStatus, only(*MAINTENANCE_STATUSES)]
    body: Body
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    display_at: UtcDatetime | None = None
    deliver_notifications: Flag = True

    @field_validator("status")
    @classmethod
    def _maintenance_status(cls, value: IncidentStatus) -> IncidentStatus:
        if value not in MAINTENANCE_STATUSES:
            allowed = ", ".join(s.value for s in MAINTENANCE_STATUSES)
            raise ValueError(f"a maintenance update's status is one of {allowed}")
        return value

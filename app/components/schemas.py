"""Request and response shapes for components (Statuspage field names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models import ComponentStatus
from app.schemas import ApiTime, Description, IdentifierName


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """A status change as written to the log (component_status_change), with its id."""

    id: int
    component_id: str
    old_status: ComponentStatus
    new_status: ComponentStatus
    effective_at: datetime
    recorded_at: datetime
    incident_id: str | None


class ComponentCreate(BaseModel):
    """Payload of POST /api/v1/components."""

    model_config = ConfigDict(extra="forbid")

    name: IdentifierName
    description: Description | None = None
    status: ComponentStatus = ComponentStatus.operational
    position: int | None = Field(default=None, ge=1)
    showcase: bool = True
    only_show_if_degraded: bool = False
    group: bool = Field(default=False, description="Create a group that holds other components")
    group_id: str | None = Field(default=None, description="The group this component belongs to")
    start_date: date | None = None


class ComponentUpdate(BaseModel):
    """Payload of PATCH /api/v1/components/{id}; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: IdentifierName | None = None
    description: Description | None = None
    status: ComponentStatus | None = None
    position: int | None = Field(default=None, ge=1)
    showcase: bool | None = None
    only_show_if_degraded: bool | None = None
    group_id: str | None = None
    start_date: date | None = None


class ComponentPublic(BaseModel):
    """A component as Statuspage returns it; groups list their children's ids."""

    id: str
    page_id: str
    group_id: str | None
    created_at: ApiTime
    updated_at: ApiTime
    group: bool
    name: str
    description: str | None
    position: int
    status: ComponentStatus
    showcase: bool
    only_show_if_degraded: bool
    automation_email: str | None = None
    start_date: date | None
    components: list[str] | None = Field(
        default=None, description="Ids of a group's components; absent for plain components"
    )

"""Request and response shapes for components (Statuspage field names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.models import ComponentStatus
from app.schemas import COUNT_MAX, ApiTime, Count, Day, Description, Flag, IdentifierName

Position = Annotated[Count, Field(ge=1, le=COUNT_MAX)]


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
    position: Position | None = None
    showcase: Flag = True
    only_show_if_degraded: Flag = False
    group: Flag = Field(default=False, description="Create a group that holds other components")
    group_id: str | None = Field(default=None, description="The group this component belongs to")
    start_date: Day | None = None


class ComponentUpdate(BaseModel):
    """Payload of PATCH /api/v1/components/{id}; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: IdentifierName | SkipJsonSchema[None] = None
    description: Description | None = None
    status: ComponentStatus | SkipJsonSchema[None] = None
    position: Position | SkipJsonSchema[None] = None
    showcase: Flag | SkipJsonSchema[None] = None
    only_show_if_degraded: Flag | SkipJsonSchema[None] = None
    group_id: str | None = None
    start_date: Day | None = None


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

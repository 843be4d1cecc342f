"""Staff API for components: /api/v1/components."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.deps import Staff, StaffDep
from app.components import service
from app.components.present import present_components
from app.components.schemas import ComponentCreate, ComponentPublic, ComponentUpdate
from app.errors import beyond_schema

router = APIRouter(prefix="/api/v1/components", tags=["components"])


def _all(staff: Staff) -> list[ComponentPublic]:
    return present_components(
        service.list_components(staff.session), page_id=staff.settings.page_id
    )


def _one(staff: Staff, component_id: str) -> ComponentPublic:
    return next(c for c in _all(staff) if c.id == component_id)


@router.get("")
def list_components(staff: StaffDep) -> list[ComponentPublic]:
    """All components and groups in display order."""
    return _all(staff)


COMPONENT_RULES = beyond_schema(
    "a group_id that does not exist, is the component itself, or is not a group",
    "a group with a group_id (groups are not nested) or a status (it comes from its components)",
)


@router.post("", status_code=status.HTTP_201_CREATED, responses=COMPONENT_RULES)
def create_component(data: ComponentCreate, staff: StaffDep, response: Response) -> ComponentPublic:
    """Create a component, or a group with `"group": true`."""
    component = service.create_component(staff.session, data=data, actor=staff.actor, now=staff.now)
    response.headers["Location"] = router.url_path_for("get_component", component_id=component.id)
    return _one(staff, component.id)


@router.get("/{component_id}")
def get_component(component_id: str, staff: StaffDep) -> ComponentPublic:
    """One component or group."""
    service.get_component(staff.session, component_id)
    return _one(staff, component_id)


@router.patch("/{component_id}", responses=COMPONENT_RULES)
def update_component(component_id: str, data: ComponentUpdate, staff: StaffDep) -> ComponentPublic:
    """Change name, description, status, position, group or display flags."""
    service.update_component(
        staff.session,
        component_id,
        data=data,
        settings=staff.settings,
        actor=staff.actor,
        now=staff.now,
    )
    return _one(staff, component_id)


@router.delete("/{component_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_component(component_id: str, staff: StaffDep) -> Response:
    """Delete a component or an empty group."""
    service.delete_component(staff.session, component_id, actor=staff.actor, now=staff.now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Staff API for components: /api/v1/components."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.deps import StaffDep
from app.clock import ClockDep
from app.components import service
from app.components.present import present_components
from app.components.schemas import ComponentCreate, ComponentPublic, ComponentUpdate
from app.config import SettingsDep
from app.db import SessionDep

router = APIRouter(prefix="/api/v1/components", tags=["components"])


def _one(session: SessionDep, settings: SettingsDep, component_id: str) -> ComponentPublic:
    everything = present_components(service.list_components(session), page_id=settings.page_id)
    return next(c for c in everything if c.id == component_id)


@router.get("")
def list_components(
    session: SessionDep, settings: SettingsDep, _staff: StaffDep
) -> list[ComponentPublic]:
    """All components and groups in display order."""
    return present_components(service.list_components(session), page_id=settings.page_id)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_component(
    data: ComponentCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> ComponentPublic:
    """Create a component, or a group with `"group": true`."""
    component = service.create_component(session, data=data, actor=staff, now=clock())
    return _one(session, settings, component.id)


@router.get("/{component_id}")
def get_component(
    component_id: str, session: SessionDep, settings: SettingsDep, _staff: StaffDep
) -> ComponentPublic:
    """One component or group."""
    service.get_component(session, component_id)
    return _one(session, settings, component_id)


@router.patch("/{component_id}")
def update_component(
    component_id: str,
    data: ComponentUpdate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> ComponentPublic:
    """Change name, description, status, position, group or display flags."""
    service.update_component(
        session, component_id, data=data, settings=settings, actor=staff, now=clock()
    )
    return _one(session, settings, component_id)


@router.delete("/{component_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_component(
    component_id: str, session: SessionDep, clock: ClockDep, staff: StaffDep
) -> Response:
    """Delete a component or an empty group."""
    service.delete_component(session, component_id, actor=staff, now=clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

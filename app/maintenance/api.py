"""Staff API for scheduled maintenance: /api/v1/maintenances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import StaffDep
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.incidents import read
from app.maintenance import service
from app.maintenance.present import MaintenancePublic, present_maintenance
from app.maintenance.schemas import MaintenanceChange, MaintenanceCreate, MaintenanceUpdateCreate
from app.models import Incident

router = APIRouter(prefix="/api/v1/maintenances", tags=["maintenance"])


def _present(
    session: SessionDep, settings: SettingsDep, found: list[Incident]
) -> list[MaintenancePublic]:
    return [
        present_maintenance(d, page_id=settings.page_id, public_url=settings.public_url)
        for d in read.load_details(session, found)
    ]


@router.get("")
def list_maintenances(
    session: SessionDep,
    settings: SettingsDep,
    _staff: StaffDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[MaintenancePublic]:
    """Maintenances, latest scheduled first."""
    return _present(session, settings, service.list_maintenances(session, limit=limit))


@router.post("", status_code=status.HTTP_201_CREATED)
def schedule(
    data: MaintenanceCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> MaintenancePublic:
    """Schedule a maintenance."""
    found = service.schedule_maintenance(
        session, data=data, settings=settings, actor=staff, now=clock()
    )
    return _present(session, settings, [found])[0]


@router.get("/{maintenance_id}")
def get_maintenance(
    maintenance_id: str, session: SessionDep, settings: SettingsDep, _staff: StaffDep
) -> MaintenancePublic:
    """One maintenance with its timeline."""
    return _present(session, settings, [service.get_maintenance(session, maintenance_id)])[0]


@router.patch("/{maintenance_id}")
def change(
    maintenance_id: str,
    data: MaintenanceChange,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> MaintenancePublic:
    """Change the plan (name, window, automation) before it starts."""
    found = service.change_maintenance(session, maintenance_id, data=data, actor=staff, now=clock())
    return _present(session, settings, [found])[0]


@router.delete("/{maintenance_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel(maintenance_id: str, session: SessionDep, clock: ClockDep, staff: StaffDep) -> Response:
    """Cancel a maintenance that has not started."""
    service.cancel_maintenance(session, maintenance_id, actor=staff, now=clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{maintenance_id}/updates", status_code=status.HTTP_201_CREATED)
def post_update(
    maintenance_id: str,
    data: MaintenanceUpdateCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> MaintenancePublic:
    """Post an update: scheduled, in_progress, verifying or completed."""
    service.post_maintenance_update(
        session, maintenance_id, data=data, settings=settings, actor=staff, now=clock()
    )
    return _present(session, settings, [service.get_maintenance(session, maintenance_id)])[0]

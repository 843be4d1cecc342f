"""Staff API for scheduled maintenance: /api/v1/maintenances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import Staff, StaffDep
from app.errors import beyond_schema
from app.incidents import read
from app.maintenance import service
from app.maintenance.present import MaintenancePublic, present_maintenance
from app.maintenance.schemas import MaintenanceChange, MaintenanceCreate, MaintenanceUpdateCreate
from app.models import Incident
from app.schemas import FUTURE_DISPLAY_AT, TIME_RANGE, UNKNOWN_COMPONENT

router = APIRouter(prefix="/api/v1/maintenances", tags=["maintenance"])


def _present(staff: Staff, found: list[Incident]) -> list[MaintenancePublic]:
    settings = staff.settings
    return [
        present_maintenance(d, page_id=settings.page_id, public_url=settings.public_url)
        for d in read.load_details(staff.session, found)
    ]


def _one(staff: Staff, maintenance_id: str) -> MaintenancePublic:
    (public,) = _present(staff, [service.get_maintenance(staff.session, maintenance_id)])
    return public


@router.get("")
def list_maintenances(
    staff: StaffDep, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[MaintenancePublic]:
    """Maintenances, latest scheduled first."""
    return _present(staff, service.list_maintenances(staff.session, limit=limit))


WINDOW = "a scheduled_until not later than scheduled_for"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(UNKNOWN_COMPONENT, WINDOW, TIME_RANGE),
)
def schedule(data: MaintenanceCreate, staff: StaffDep, response: Response) -> MaintenancePublic:
    """Schedule a maintenance."""
    found = service.schedule_maintenance(
        staff.session, data=data, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    response.headers["Location"] = router.url_path_for("get_maintenance", maintenance_id=found.id)
    return _one(staff, found.id)


@router.get("/{maintenance_id}")
def get_maintenance(maintenance_id: str, staff: StaffDep) -> MaintenancePublic:
    """One maintenance with its timeline."""
    return _one(staff, maintenance_id)


@router.patch("/{maintenance_id}", responses=beyond_schema(UNKNOWN_COMPONENT, WINDOW, TIME_RANGE))
def change(maintenance_id: str, data: MaintenanceChange, staff: StaffDep) -> MaintenancePublic:
    """Change the plan (name, window, automation) before it starts."""
    service.change_maintenance(
        staff.session, maintenance_id, data=data, actor=staff.actor, now=staff.now
    )
    return _one(staff, maintenance_id)


@router.delete("/{maintenance_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel(maintenance_id: str, staff: StaffDep) -> Response:
    """Cancel a maintenance that has not started."""
    service.cancel_maintenance(staff.session, maintenance_id, actor=staff.actor, now=staff.now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{maintenance_id}/updates",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(UNKNOWN_COMPONENT, FUTURE_DISPLAY_AT, TIME_RANGE),
)
def post_update(
    maintenance_id: str, data: MaintenanceUpdateCreate, staff: StaffDep, response: Response
) -> MaintenancePublic:
    """Post an update: scheduled, in_progress, verifying or completed. A maintenance's updates
    have no address of their own: `Location` is the maintenance's, whose timeline shows it."""
    service.post_maintenance_update(
        staff.session,
        maintenance_id,
        data=data,
        settings=staff.settings,
        actor=staff.actor,
        now=staff.now,
    )
    response.headers["Location"] = router.url_path_for(
        "get_maintenance", maintenance_id=maintenance_id
    )
    return _one(staff, maintenance_id)

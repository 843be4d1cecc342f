"""Staff API for incidents, updates and postmortems: /api/v1/incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from app.auth.deps import StaffDep
from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.incidents import postmortems, read, service
from app.incidents.present import present_incident
from app.incidents.schemas import (
    IncidentCreate,
    IncidentPublic,
    IncidentUpdatePublic,
    PostmortemDraft,
    PostmortemPublish,
    UpdateCreate,
    UpdateEdit,
)
from app.models import IncidentStatus

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def _present(session: SessionDep, settings: SettingsDep, incident_id: str) -> IncidentPublic:
    (detail,) = read.load_details(session, [read.get_incident(session, incident_id)])
    return present_incident(detail, page_id=settings.page_id, public_url=settings.public_url)


@router.get("")
def list_incidents(
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _staff: StaffDep,
    status_: Annotated[list[IncidentStatus] | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[IncidentPublic]:
    """Incidents, most recently started first; filter with ?status=, page with ?page=."""
    found = read.list_incidents(
        session, statuses=status_, limit=per_page, offset=(page - 1) * per_page
    )
    response.headers["X-Total-Count"] = str(read.count_incidents(session, statuses=status_))
    return [
        present_incident(d, page_id=settings.page_id, public_url=settings.public_url)
        for d in read.load_details(session, found)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def open_incident(
    data: IncidentCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> IncidentPublic:
    """Open an incident with its first update."""
    incident = service.open_incident(
        session, data=data, settings=settings, actor=staff, now=clock()
    )
    return _present(session, settings, incident.id)


@router.get("/{incident_id}")
def get_incident(
    incident_id: str, session: SessionDep, settings: SettingsDep, _staff: StaffDep
) -> IncidentPublic:
    """One incident with its whole timeline."""
    return _present(session, settings, incident_id)


@router.post("/{incident_id}/updates", status_code=status.HTTP_201_CREATED)
def post_update(
    incident_id: str,
    data: UpdateCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> IncidentPublic:
    """Post a timeline update (status, message, component changes)."""
    service.post_update(
        session, incident_id, data=data, settings=settings, actor=staff, now=clock()
    )
    return _present(session, settings, incident_id)


@router.patch("/{incident_id}/updates/{update_id}")
def edit_update(
    incident_id: str,
    update_id: str,
    data: UpdateEdit,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> IncidentUpdatePublic:
    """Fix an earlier update's body or display time (audited); its status can't change."""
    service.edit_update(session, incident_id, update_id, data=data, actor=staff, now=clock())
    incident = _present(session, settings, incident_id)
    return next(u for u in incident.incident_updates if u.id == update_id)


@router.put("/{incident_id}/postmortem")
def save_postmortem(
    incident_id: str,
    data: PostmortemDraft,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> IncidentPublic:
    """Save the postmortem draft (Markdown)."""
    postmortems.save_postmortem_draft(
        session, incident_id, body=data.body, actor=staff, now=clock()
    )
    return _present(session, settings, incident_id)


@router.post("/{incident_id}/postmortem/publish")
def publish_postmortem(
    incident_id: str,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
    data: Annotated[PostmortemPublish | None, Body()] = None,
) -> IncidentPublic:
    """Publish the draft; the incident moves to status postmortem."""
    options = data or PostmortemPublish()
    postmortems.publish_postmortem(
        session,
        incident_id,
        published_at=options.published_at,
        notify_subscribers=options.notify_subscribers,
        settings=settings,
        actor=staff,
        now=clock(),
    )
    return _present(session, settings, incident_id)


@router.post("/{incident_id}/postmortem/unpublish")
def unpublish_postmortem(
    incident_id: str,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    staff: StaffDep,
) -> IncidentPublic:
    """Take the postmortem off the public page (the draft is kept)."""
    postmortems.unpublish_postmortem(session, incident_id, actor=staff, now=clock())
    return _present(session, settings, incident_id)

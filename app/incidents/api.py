"""Staff API for incidents, updates and postmortems: /api/v1/incidents."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query, Response, status

from app.auth.deps import Staff, StaffDep
from app.db import read_session
from app.errors import NotFound, beyond_schema
from app.incidents import postmortems, read, service
from app.incidents.present import present_incident
from app.incidents.schemas import (
    IncidentCreate,
    IncidentEdit,
    IncidentPublic,
    IncidentUpdatePublic,
    PostmortemDraft,
    PostmortemPublish,
    UpdateCreate,
    UpdateEdit,
)
from app.models import Incident, IncidentStatus
from app.schemas import CHARGERS, FUTURE_DISPLAY_AT, TIME_RANGE, UNKNOWN_COMPONENT

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def _present(staff: Staff, found: list[Incident]) -> list[IncidentPublic]:
    settings = staff.settings
    return [
        present_incident(d, page_id=settings.page_id, public_url=settings.public_url)
        for d in read.load_details(staff.session, found)
    ]


def _one(staff: Staff, incident_id: str) -> IncidentPublic:
    (public,) = _present(staff, [read.get_incident(staff.session, incident_id)])
    return public


def _after_change(staff: Staff, incident_id: str) -> IncidentPublic:
    """The answer to a change: the change committed first (this handler is its edge), then
    the incident read on a read-only session. An incident on thousands of components takes
    a while to present, and on SQLite the write transaction would hold the database's one
    write lock all that time."""
    staff.session.commit()
    engine = staff.session.get_bind()
    assert isinstance(engine, sa.Engine)
    with read_session(engine) as reading:
        found = read.get_incident(reading, incident_id)
        (detail,) = read.load_details(reading, [found])
        settings = staff.settings
        return present_incident(detail, page_id=settings.page_id, public_url=settings.public_url)


def _update_of(incident: IncidentPublic, update_id: str) -> IncidentUpdatePublic:
    found = next((u for u in incident.incident_updates if u.id == update_id), None)
    if found is None:
        raise NotFound(f"update {update_id!r} of incident {incident.id!r} does not exist")
    return found


@router.get("")
def list_incidents(
    staff: StaffDep,
    response: Response,
    status_: Annotated[list[IncidentStatus] | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[IncidentPublic]:
    """Incidents, most recently started first; filter with ?status=, page with ?page=."""
    offset = (page - 1) * per_page
    found = read.list_incidents(staff.session, statuses=status_, limit=per_page, offset=offset)
    total = read.count_incidents(staff.session, statuses=status_)
    response.headers["X-Total-Count"] = str(total)
    return _present(staff, found)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(
        UNKNOWN_COMPONENT,
        FUTURE_DISPLAY_AT,
        "a started_at later than display_at",
        CHARGERS,
        TIME_RANGE,
    ),
)
def open_incident(data: IncidentCreate, staff: StaffDep, response: Response) -> IncidentPublic:
    """Open an incident with its first update."""
    incident = service.open_incident(
        staff.session, data=data, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    response.headers["Location"] = router.url_path_for("get_incident", incident_id=incident.id)
    return _after_change(staff, incident.id)


@router.get("/{incident_id}")
def get_incident(incident_id: str, staff: StaffDep) -> IncidentPublic:
    """One incident with its whole timeline."""
    return _one(staff, incident_id)


@router.patch(
    "/{incident_id}",
    responses=beyond_schema("a started_at later than the first update's display_at", TIME_RANGE),
)
def change_incident(incident_id: str, data: IncidentEdit, staff: StaffDep) -> IncidentPublic:
    """Rename an incident, or change its start or impact override (audited; nobody is told)."""
    service.change_incident(staff.session, incident_id, data=data, actor=staff.actor, now=staff.now)
    return _one(staff, incident_id)


@router.delete("/{incident_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_incident(incident_id: str, staff: StaffDep) -> Response:
    """Delete an incident with its timeline and postmortem (audited; nobody is told).

    An open incident hands its components back first, as resolving would.
    """
    service.delete_incident(
        staff.session, incident_id, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{incident_id}/updates",
    status_code=status.HTTP_201_CREATED,
    responses=beyond_schema(UNKNOWN_COMPONENT, FUTURE_DISPLAY_AT, CHARGERS, TIME_RANGE),
)
def post_update(
    incident_id: str, data: UpdateCreate, staff: StaffDep, response: Response
) -> IncidentPublic:
    """Post a timeline update (status, message, component changes); the answer is the
    incident, `Location` the new update's address."""
    update = service.post_update(
        staff.session,
        incident_id,
        data=data,
        settings=staff.settings,
        actor=staff.actor,
        now=staff.clock,  # read as if under the incident's lock (see service.post_update)
    )
    response.headers["Location"] = router.url_path_for(
        "get_update", incident_id=incident_id, update_id=update.id
    )
    return _after_change(staff, incident_id)


@router.get("/{incident_id}/updates/{update_id}")
def get_update(incident_id: str, update_id: str, staff: StaffDep) -> IncidentUpdatePublic:
    """One update of an incident's timeline."""
    return _update_of(_one(staff, incident_id), update_id)


@router.patch(
    "/{incident_id}/updates/{update_id}",
    responses=beyond_schema(
        FUTURE_DISPLAY_AT, "a display_at that puts the first update before started_at", TIME_RANGE
    ),
)
def edit_update(
    incident_id: str, update_id: str, data: UpdateEdit, staff: StaffDep
) -> IncidentUpdatePublic:
    """Fix an earlier update's body or display time (audited); its status can't change."""
    service.edit_update(
        staff.session, incident_id, update_id, data=data, actor=staff.actor, now=staff.now
    )
    return _update_of(_one(staff, incident_id), update_id)


@router.delete("/{incident_id}/updates/{update_id}")
def delete_update(incident_id: str, update_id: str, staff: StaffDep) -> IncidentPublic:
    """Take a stray update off the timeline (audited; nobody is told). Refused (409) for the
    only update, and for the one that gave the incident its current status."""
    service.delete_update(staff.session, incident_id, update_id, actor=staff.actor, now=staff.now)
    return _one(staff, incident_id)


@router.put("/{incident_id}/postmortem")
def save_postmortem(incident_id: str, data: PostmortemDraft, staff: StaffDep) -> IncidentPublic:
    """Save the postmortem draft (Markdown)."""
    postmortems.save_postmortem_draft(
        staff.session, incident_id, body=data.body, actor=staff.actor, now=staff.now
    )
    return _one(staff, incident_id)


@router.post(
    "/{incident_id}/postmortem/publish",
    responses=beyond_schema("a published_at in the future", TIME_RANGE),
)
def publish_postmortem(
    incident_id: str,
    staff: StaffDep,
    data: Annotated[PostmortemPublish | None, Body()] = None,
) -> IncidentPublic:
    """Publish the draft; the incident moves to status postmortem."""
    options = data or PostmortemPublish()
    postmortems.publish_postmortem(
        staff.session,
        incident_id,
        published_at=options.published_at,
        notify_subscribers=options.notify_subscribers,
        settings=staff.settings,
        actor=staff.actor,
        now=staff.now,
    )
    return _one(staff, incident_id)


@router.post("/{incident_id}/postmortem/unpublish")
def unpublish_postmortem(incident_id: str, staff: StaffDep) -> IncidentPublic:
    """Take the postmortem off the public page (the draft is kept)."""
    postmortems.unpublish_postmortem(staff.session, incident_id, actor=staff.actor, now=staff.now)
    return _one(staff, incident_id)

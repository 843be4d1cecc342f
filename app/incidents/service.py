"""Incident use cases: open an incident, post and edit updates."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import service as audit
from app.clock import Clock
from app.config import Settings
from app.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from app.incidents import events, prepared, read, timeline
from app.incidents.schemas import IncidentCreate, IncidentEdit, UpdateCreate, UpdateEdit
from app.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)

# Clocks drift; a display time this far ahead of ours is still accepted as "now".
CLOCK_SKEW = timedelta(minutes=2)


def lock_incident(
    session: Session, incident_id: str, *, maintenance: bool = False, lock: bool = True
) -> Incident:
    """The incident (or maintenance), row-locked for the rest of the transaction (`lock`
    False: only read, to prepare a change)."""
    stmt = select(Incident).where(Incident.id == incident_id)
    incident = session.exec(stmt.with_for_update() if lock else stmt).first()
    if incident is None or (incident.scheduled_for is not None) != maintenance:
        kind = "maintenance" if maintenance else "incident"
        raise NotFound(f"{kind} {incident_id!r} does not exist")
    return incident


def check_display_at(display_at: datetime, now: datetime) -> None:
    """Refuse a display time in the future (back-dating is fine)."""
    if display_at > now + CLOCK_SKEW:
        raise InvalidInput("display_at is in the future; updates can be back-dated, not post-dated")


def _check_transition(incident: Incident, new: IncidentStatus) -> None:
    if incident.status in CLOSED_STATUSES and new != IncidentStatus.resolved:
        raise InvalidTransition(
            f"incident is {incident.status.value}; only a further 'resolved' note can be "
            "posted. Open a new incident if the problem is back."
        )


def open_incident(
    session: Session,
    *,
    data: IncidentCreate,
    settings: Settings,
    actor: str,
    now: datetime,
    automated: bool = False,
) -> Incident:
    """Open an incident with its first update, changing component statuses as asked.

    `automated`: a probe opens it, and tells its story until a person posts an update.
    """
    display_at = data.display_at or now
    check_display_at(display_at, now)
    started_at = data.started_at or display_at
    if started_at > display_at:
        raise InvalidInput("started_at can't be later than the first update's display_at")
    incident = Incident(
        name=data.name,
        status=data.status,
        impact_override=data.impact_override,
        backfilled=data.backfilled,
        automated=automated,
        created_at=now,
        updated_at=now,
        started_at=started_at,
        chargers_affected=data.chargers_affected,
        chargers_total=data.chargers_total,
    )
    # History written after the fact is not news: backfilled incidents notify no one.
    notify = data.deliver_notifications and not data.backfilled
    already_over = data.status == IncidentStatus.resolved
    plan = (
        None
        if already_over
        else prepared.outside_lock(
            session,
            lambda snapshot: prepared.prepare_entry(
                snapshot,
                prepared.copy_of(incident),
                new_incident=True,
                status=data.status,
                body=data.body,
                translations=data.body_translations,
                changes=data.components,
                display_at=display_at,
                deliver_notifications=notify,
                restoring=False,
                event_type="incident.created" if notify else None,
                settings=settings,
                now=now,
            ),
        )
    )
    if plan is not None and prepared.write(session, plan, settings, None):
        _audit_opened(session, actor, plan.incident, data, now)
        return plan.incident
    session.add(incident)
    session.flush()
    first = timeline.apply_update(
        session,
        incident,
        status=data.status,
        body=data.body,
        changes=data.components,
        display_at=display_at,
        deliver_notifications=notify,
        restoring=False,
        settings=settings,
        now=now,
        # An incident reported once it is over: its components were in these statuses from
        # started_at and are handed back below, at display_at.
        effective_at=started_at if already_over else None,
    )
    first.translations = data.body_translations or None
    if already_over and data.components:
        timeline.hand_back(
            session,
            incident,
            list(data.components),
            at=display_at,
            notify=notify,
            settings=settings,
            now=now,
        )
    if notify:
        events.incident_event(session, settings, incident, event_type="incident.created", now=now)
    _audit_opened(session, actor, incident, data, now)
    return incident


def _audit_opened(
    session: Session, actor: str, incident: Incident, data: IncidentCreate, now: datetime
) -> None:
    audit.record(
        session, actor, "incident.opened", incident.id, at=now, data=data.model_dump(mode="json")
    )


def _prepare_update(
    snapshot: Session,
    incident_id: str,
    *,
    data: UpdateCreate,
    settings: Settings,
    now: datetime | Clock,
    automated: bool,
) -> prepared.Plan:
    """What post_update will write, planned from a snapshot before the write lock."""
    found = lock_incident(snapshot, incident_id, lock=False)
    incident = prepared.copy_of(found)
    # Read once the snapshot has begun: the plan is written only if no incident write has
    # committed since (else post_update runs again under the lock, reading the clock there).
    at = now() if callable(now) else now
    resolving = incident.status in OPEN_STATUSES and data.status == IncidentStatus.resolved
    display_at = _take_update(incident, data, at=at, automated=automated)
    kind = "incident.resolved" if resolving else "incident.updated"
    plan = prepared.prepare_entry(
        snapshot,
        incident,
        new_incident=False,
        status=data.status,
        body=data.body,
        translations=data.body_translations,
        changes=data.components,
        display_at=display_at,
        deliver_notifications=data.deliver_notifications,
        restoring=resolving,
        event_type=kind if data.deliver_notifications else None,
        settings=settings,
        now=at,
    )
    plan.row = prepared.row_of(found)
    return plan


def _take_update(
    incident: Incident, data: UpdateCreate, *, at: datetime, automated: bool
) -> datetime:
    """Check an update against its incident and take its fields (a person's update takes the
    story over from probes; charger counts); its display time, checked against `at`."""
    if not automated:
        incident.automated = False
    _check_transition(incident, data.status)
    display_at = data.display_at or at
    check_display_at(display_at, at)
    if data.chargers_total is not None:
        incident.chargers_affected = data.chargers_affected
        incident.chargers_total = data.chargers_total
    return display_at


def _audit_posted(
    session: Session,
    actor: str,
    incident_id: str,
    update: IncidentUpdate,
    data: UpdateCreate,
    now: datetime,
) -> None:
    audit.record(
        session,
        actor,
        "incident.update_posted",
        incident_id,
        at=now,
        data={"update_id": update.id, **data.model_dump(mode="json")},
    )


def post_update(
    session: Session,
    incident_id: str,
    *,
    data: UpdateCreate,
    settings: Settings,
    actor: str,
    now: datetime | Clock,
    automated: bool = False,
) -> IncidentUpdate:
    """Add an update to an incident's timeline; resolving restores components not named.

    An update a person posts (not `automated`) takes the incident's story over from probes.
    Given a clock, "now" is read as if under the incident's row lock, so parallel updates get
    display times in the order they are applied and the newest one sets the status: the plan
    made before the lock reads it after its snapshot begins and is written only when no
    incident write committed since (the data version checked under the lock); otherwise all
    of it is done again under the lock, with the clock read there.
    """
    plan = prepared.outside_lock(
        session,
        lambda snapshot: _prepare_update(
            snapshot, incident_id, data=data, settings=settings, now=now, automated=automated
        ),
    )
    incident = lock_incident(session, incident_id)
    if plan is not None and prepared.write(session, plan, settings, incident):
        assert plan.now is not None
        _audit_posted(session, actor, incident.id, plan.update, data, plan.now)
        return plan.update
    now = now() if callable(now) else now  # under the lock, never the plan's reading
    was_open = incident.status in OPEN_STATUSES
    display_at = _take_update(incident, data, at=now, automated=automated)
    update = timeline.apply_update(
        session,
        incident,
        status=data.status,
        body=data.body,
        changes=data.components,
        display_at=display_at,
        deliver_notifications=data.deliver_notifications,
        restoring=was_open and data.status == IncidentStatus.resolved,
        settings=settings,
        now=now,
    )
    update.translations = data.body_translations or None
    if data.deliver_notifications:
        resolving = was_open and data.status == IncidentStatus.resolved
        kind = "incident.resolved" if resolving else "incident.updated"
        events.incident_event(session, settings, incident, event_type=kind, now=now)
    _audit_posted(session, actor, incident.id, update, data, now)
    return update


def edit_update(
    session: Session,
    incident_id: str,
    update_id: str,
    *,
    data: UpdateEdit,
    actor: str,
    now: datetime,
) -> IncidentUpdate:
    """Fix an update's body or display time; the previous values go to the audit log."""
    incident = lock_incident(session, incident_id)
    update = session.get(IncidentUpdate, update_id)
    if update is None or update.incident_id != incident.id:
        raise NotFound(f"update {update_id!r} of incident {incident_id!r} does not exist")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change: give body and/or display_at")
    if changes.get("body", "") is None or ("display_at" in changes and data.display_at is None):
        raise InvalidInput("body and display_at can't be null")
    before: dict[str, object] = {"body": update.body, "display_at": update.display_at.isoformat()}
    if data.body is not None:
        update.body = data.body
    if data.body_translations is not None:
        before["translations"] = update.translations
        update.translations = data.body_translations or None
    if data.display_at is not None:
        check_display_at(data.display_at, now)
        update.display_at = data.display_at
    update.updated_at = now
    incident.updated_at = now
    session.add_all([update, incident])
    session.flush()
    timeline.sync_from_updates(session, incident)
    audit.record(
        session,
        actor,
        "incident.update_edited",
        incident.id,
        at=now,
        data={
            "update_id": update.id,
            "before": before,
            "after": data.model_dump(mode="json", exclude_unset=True),
        },
    )
    return update


def edit_incident(
    session: Session,
    incident_id: str,
    *,
    name: str,
    impact_override: Impact | None,
    started_at: datetime,
    actor: str,
    now: datetime,
) -> Incident:
    """Set an incident's name, impact override and start (incidents kept as files); audited."""
    incident = lock_incident(session, incident_id)
    first = session.exec(
        select(sa.func.min(IncidentUpdate.display_at)).where(
            IncidentUpdate.incident_id == incident.id
        )
    ).one()
    if first is not None and started_at > first:
        raise InvalidInput("started_at can't be later than the first update's display_at")
    before = {
        "name": incident.name,
        "impact_override": incident.impact_override,
        "started_at": incident.started_at.isoformat(),
    }
    incident.name = name
    incident.impact_override = impact_override
    incident.started_at = started_at
    incident.updated_at = now
    session.add(incident)
    session.flush()
    timeline.sync_from_updates(session, incident)
    audit.record(
        session,
        actor,
        "incident.edited",
        incident.id,
        at=now,
        data={
            "before": before,
            "after": {
                "name": name,
                "impact_override": impact_override,
                "started_at": started_at.isoformat(),
            },
        },
    )
    return incident


def _not_kept_in_file(incident: Incident, what: str) -> None:
    """Incidents kept as files change through their file; the next sync would undo this."""
    if incident.source_slug is not None:
        raise Conflict(
            f"the incident is kept in incidents/{incident.source_slug}.md; {what} there "
            "and run pharos sync"
        )


def change_incident(
    session: Session, incident_id: str, *, data: IncidentEdit, actor: str, now: datetime
) -> Incident:
    """Rename an incident (or re-date its start, re-rate its impact); nobody is notified."""
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change: give name, impact_override and/or started_at")
    if ("name" in changes and data.name is None) or (
        "started_at" in changes and not data.started_at
    ):
        raise InvalidInput("name and started_at can't be null")
    incident = lock_incident(session, incident_id)
    _not_kept_in_file(incident, "change it")
    return edit_incident(
        session,
        incident_id,
        name=data.name or incident.name,
        impact_override=changes.get("impact_override", incident.impact_override),
        started_at=data.started_at or incident.started_at,
        actor=actor,
        now=now,
    )


def _timeline_order(update: IncidentUpdate) -> tuple[datetime, datetime, str]:
    return (update.display_at, update.created_at, update.id)


def delete_update(
    session: Session, incident_id: str, update_id: str, *, actor: str, now: datetime
) -> None:
    """Take a stray update off the timeline (audited with its text); nobody is notified.

    Component statuses stay as they are (they were shown); the incident's times and impact
    are derived again from the updates left. The update that gave the incident its current
    status can't go: the timeline would then contradict the status.
    """
    incident = lock_incident(session, incident_id)
    _not_kept_in_file(incident, "remove the update")
    updates = sorted(
        session.exec(select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id)),
        key=_timeline_order,
    )
    update = next((u for u in updates if u.id == update_id), None)
    if update is None:
        raise NotFound(f"update {update_id!r} of incident {incident_id!r} does not exist")
    left = [u for u in updates if u.id != update_id]
    if not left:
        raise Conflict("this is the incident's only update; delete the incident instead")
    current = IncidentStatus.resolved if incident.status in CLOSED_STATUSES else incident.status
    if left[-1].status != current:
        raise Conflict(
            f"this update made the incident {update.status.value}; post a new update "
            "instead of deleting it"
        )
    removed = {
        "update_id": update.id,
        "status": update.status.value,
        "body": update.body,
        "display_at": update.display_at.isoformat(),
    }
    session.delete(update)
    incident.updated_at = now
    session.add(incident)
    session.flush()
    timeline.sync_from_updates(session, incident)
    audit.record(session, actor, "incident.update_deleted", incident.id, at=now, data=removed)


def delete_incident(
    session: Session, incident_id: str, *, settings: Settings, actor: str, now: datetime
) -> None:
    """Delete an incident with its timeline and postmortem (audited); nobody is notified.

    An open incident first hands its components back, as resolving would (silently). The
    status log keeps what the components went through, without the incident.
    """
    incident = lock_incident(session, incident_id)
    if incident.status in OPEN_STATUSES:
        held = read.affected_component_ids(session, incident.id)
        timeline.hand_back(
            session, incident, held, at=now, notify=False, settings=settings, now=now
        )
    count = len(
        session.exec(
            select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident.id)
        ).all()
    )
    data = {
        "name": incident.name,
        "status": incident.status.value,
        "started_at": incident.started_at.isoformat(),
        "updates": count,
        "source_slug": incident.source_slug,
    }
    session.delete(incident)
    session.flush()
    audit.record(session, actor, "incident.deleted", incident_id, at=now, data=data)

"""Importing incidents and maintenances with their whole timeline, exactly as the source has them.

The incident services can't express this: they give new ids, stamp created_at with the clock
and compute each update's old status from the component's status of the moment. An import
must keep the source's ids, times, impact and every update's old/new statuses, so the rows are
written here directly, as history: backfilled, deliver_notifications false on every update, no
outbox event ever. Component statuses and their log (uptime) are replayed afterwards from
these rows through components.service.change_status (status_log.py).

A re-run makes an imported incident equal to the source again: its fields are set anew and
its timeline is replaced by the source's (same update ids).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.importers import keys
from app.importers.report import ImportReport
from app.importers.source import SourceIncident, SourcePostmortem
from app.models import AffectedComponent, Incident, IncidentUpdate, new_id
from app.schemas import NAME_MAX

KINDS = ("incident", "maintenance")
ACTOR = "import:statuspage"
REMIND_PRIOR_MINUTES = 60  # Statuspage's reminder is a flag: one hour before the start


def kind_of(incident: SourceIncident) -> str:
    """The import key kind: maintenance or incident."""
    return "maintenance" if incident.is_maintenance else "incident"


def unchanged(session: Session, source: str, incident: SourceIncident, fingerprint: str) -> bool:
    """Whether this incident was imported before, as it is now, and is still there."""
    key = keys.find(session, source, kind_of(incident), incident.id)
    return bool(
        key and key.digest == fingerprint and session.get(Incident, key.pharos_id) is not None
    )


def remind_minutes(value: bool | int | None) -> int | None:
    """Statuspage's reminder as minutes before the start: a flag means one hour."""
    if value is None or value is False:
        return None
    if value is True:
        return REMIND_PRIOR_MINUTES
    return value if 0 < value <= 7 * 24 * 60 else None


def markdown(text: str | None) -> str | None:
    """Statuspage's Markdown with Windows line ends made plain."""
    if text is None:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").strip() or None


def _postmortem(incident: Incident, src: SourceIncident, pm: SourcePostmortem | None) -> None:
    published = pm.published_at if pm else src.postmortem_published_at
    body = markdown(pm.body if pm else src.postmortem_body)
    draft = markdown(pm.body_draft if pm else None) or body
    edited = (pm.body_draft_updated_at or pm.body_updated_at) if pm else None
    incident.postmortem_body = draft
    incident.postmortem_body_updated_at = (
        (edited or src.postmortem_body_last_updated_at) if draft else None
    )
    incident.postmortem_published_body = body if published and body else None
    incident.postmortem_published_at = published if published and body else None


def write_incident(
    session: Session,
    src: SourceIncident,
    *,
    postmortem: SourcePostmortem | None,
    component_ids: dict[str, str],
    fingerprint: str,
    source: str,
    now: datetime,
    report: ImportReport,
) -> None:
    """Create or replace one incident (or maintenance) and its timeline; the caller commits."""
    kind = kind_of(src)
    if len(src.name) > NAME_MAX:
        report.skip(kind, src.id, f"name longer than {NAME_MAX} characters")
        return
    key = keys.find(session, source, kind, src.id)
    incident = session.get(Incident, key.pharos_id) if key else None
    created = incident is None
    if incident is None:
        incident = Incident(
            id=keys.claim_id(session, Incident, src.id),
            name=src.name,
            status=src.status,
            created_at=src.created_at,
            updated_at=src.created_at,
            started_at=src.created_at,
        )
    _fields(incident, src)
    _postmortem(incident, src, postmortem)
    session.add(incident)
    session.flush()
    _replace_timeline(session, incident, src, component_ids)
    keys.remember(session, source, kind, src.id, incident.id, fingerprint, now=now)
    outcome = "created" if created else "updated"
    audit.record(
        session,
        ACTOR,
        f"{kind}.import_{outcome}",
        incident.id,
        at=now,
        data={"source": source, "external_id": src.id, "updates": len(src.incident_updates)},
    )
    verb, n = ("create" if created else "update"), len(src.incident_updates)
    report.count(
        kind,
        outcome,
        f"{verb} {kind} {src.name!r} ({src.status.value}, {n} update{'' if n == 1 else 's'})",
    )


def _fields(incident: Incident, src: SourceIncident) -> None:
    incident.name = src.name
    incident.status = src.status
    incident.impact = src.impact
    incident.impact_override = src.impact_override
    incident.backfilled = True  # history: notifies no one, ever
    incident.created_at = src.created_at
    incident.updated_at = src.updated_at or src.created_at
    first = min((u.shown_at for u in src.incident_updates), default=src.created_at)
    incident.started_at = src.started_at or src.scheduled_for or min(first, src.created_at)
    incident.monitoring_at = src.monitoring_at
    incident.resolved_at = src.resolved_at
    incident.scheduled_for = src.scheduled_for
    incident.scheduled_until = src.scheduled_until
    if src.is_maintenance:
        incident.scheduled_remind_prior = remind_minutes(src.scheduled_remind_prior)
        incident.scheduled_reminded_at = src.scheduled_reminded_at
        incident.scheduled_auto_in_progress = bool(src.scheduled_auto_in_progress)
        incident.scheduled_auto_completed = bool(src.scheduled_auto_completed)
        incident.auto_transition_to_maintenance_state = bool(
            src.auto_transition_to_maintenance_state
        )
        incident.auto_transition_to_operational_state = bool(
            src.auto_transition_to_operational_state
        )


def _replace_timeline(
    session: Session, incident: Incident, src: SourceIncident, component_ids: dict[str, str]
) -> None:
    """Delete the incident's updates and write the source's (their ids are kept)."""
    old = list(
        session.exec(select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident.id))
    )
    if old:
        session.execute(
            sa.delete(AffectedComponent).where(col(AffectedComponent.incident_update_id).in_(old))
        )
        session.execute(sa.delete(IncidentUpdate).where(col(IncidentUpdate.id).in_(old)))
    wanted = [u.id for u in src.incident_updates]
    taken = set(session.exec(select(IncidentUpdate.id).where(col(IncidentUpdate.id).in_(wanted))))
    updates: list[IncidentUpdate] = []
    rows: list[Any] = []
    for u in src.incident_updates:
        free = keys.PHAROS_ID.match(u.id) and u.id not in taken
        update = IncidentUpdate(
            id=u.id if free else new_id(),
            incident_id=incident.id,
            status=u.status,
            body=u.body or "",
            display_at=u.shown_at,
            created_at=u.created_at,
            updated_at=u.updated_at or u.created_at,
            deliver_notifications=False,
        )
        updates.append(update)
        rows += [
            AffectedComponent(
                incident_update_id=update.id,
                component_id=component_ids.get(a.code, a.code),
                name=a.name,
                old_status=a.old_status,
                new_status=a.new_status,
                # The update changed it here; a repeat of the status found is no claim.
                set_here=a.old_status != a.new_status,
            )
            for a in u.affected_components or []
        ]
    session.add_all(updates)
    session.flush()  # updates first: no ORM relationship tells the flush their order
    session.add_all(rows)
    session.flush()

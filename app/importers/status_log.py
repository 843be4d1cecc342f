"""Component statuses and their log (the uptime history), replayed from imported incidents.

Each imported component's log should be what its imported incidents say: every update, in
display-time order across all incidents (they overlap), that sets a status the component is
not in is a change at that update's display time; last, a change to the source's current
status (made outside incidents) at the component's updated_at, if the replay ends elsewhere.

The Pharos log is append-only in time, so a re-run appends what is new when the log so far is
a prefix of what it should be, and otherwise (older history changed on the source) replays the
component's log from scratch. Both go through components.service.change_status, which keeps
the daily uptime rollups exact. One commit per component.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.components import service as components
from app.importers import keys
from app.importers.keys import Checkpoint
from app.importers.report import ImportReport
from app.importers.source import SourceComponent
from app.models import (
    AffectedComponent,
    Component,
    ComponentDay,
    ComponentStatus,
    ComponentStatusChange,
    ImportKey,
    IncidentUpdate,
)


@dataclass(frozen=True)
class Change:
    """One entry of a component's status log."""

    at: datetime
    old: ComponentStatus
    new: ComponentStatus
    incident_id: str | None


def _clamp(at: datetime, last: datetime | None, now: datetime) -> datetime:
    """As change_status places a change: never in the future, never before the last one."""
    at = min(at, now)
    return max(at, last) if last is not None else at


def desired_log(
    rows: list[tuple[datetime, ComponentStatus, ComponentStatus, str]],
    current: SourceComponent | None,
    now: datetime,
) -> tuple[ComponentStatus, list[Change]]:
    """The status a component starts in and the changes it should have logged."""
    initial = rows[0][1] if rows else ComponentStatus.operational
    state, last, out = initial, None, []
    for at, _old, new, incident_id in rows:
        if new == state:
            continue
        last = _clamp(at, last, now)
        out.append(Change(at=last, old=state, new=new, incident_id=incident_id))
        state = new
    if current is not None and current.status != state:
        last = _clamp(current.updated_at, last, now)
        out.append(Change(at=last, old=state, new=current.status, incident_id=None))
    return initial, out


def _rows_by_component(
    session: Session, source: str
) -> dict[str, list[tuple[datetime, ComponentStatus, ComponentStatus, str]]]:
    """Every affected-component row of this source's imported incidents, in time order."""
    imported = select(ImportKey.pharos_id).where(
        ImportKey.source == source, col(ImportKey.kind).in_(("incident", "maintenance"))
    )
    stmt = (
        sa.select(
            col(AffectedComponent.component_id),
            col(IncidentUpdate.display_at),
            col(AffectedComponent.old_status),
            col(AffectedComponent.new_status),
            col(IncidentUpdate.incident_id),
        )
        .join(IncidentUpdate, col(IncidentUpdate.id) == AffectedComponent.incident_update_id)
        .where(col(IncidentUpdate.incident_id).in_(imported))
        .order_by(
            col(IncidentUpdate.display_at), col(IncidentUpdate.created_at), col(IncidentUpdate.id)
        )
    )
    out: dict[str, list[tuple[datetime, ComponentStatus, ComponentStatus, str]]] = {}
    for component_id, at, old, new, incident_id in session.execute(stmt):
        out.setdefault(component_id, []).append(
            (at, ComponentStatus(old), ComponentStatus(new), incident_id)
        )
    return out


def _existing(session: Session, component_id: str) -> list[tuple[datetime, str, str]]:
    stmt = (
        select(
            ComponentStatusChange.effective_at,
            ComponentStatusChange.old_status,
            ComponentStatusChange.new_status,
        )
        .where(ComponentStatusChange.component_id == component_id)
        .order_by(col(ComponentStatusChange.effective_at), col(ComponentStatusChange.id))
    )
    return [(at, ComponentStatus(old), ComponentStatus(new)) for at, old, new in session.exec(stmt)]


def sync_status_logs(
    session: Session,
    *,
    source: str,
    current: dict[str, SourceComponent],
    tz: tzinfo,
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """Bring every imported component's status and log in line with the imported history.

    `current` maps Pharos component ids to the source's view of them (status, updated_at).
    """
    rows = _rows_by_component(session, source)
    for key in keys.keys_of(session, source, ("component",)):
        component = session.get(Component, key.pharos_id)
        if component is None or component.is_group:
            continue
        src = current.get(component.id)
        initial, wanted = desired_log(rows.get(component.id, []), src, now)
        have = _existing(session, component.id)
        prefix = [(c.at, c.old, c.new) for c in wanted[: len(have)]]
        state = wanted[len(have) - 1].new if have and len(have) <= len(wanted) else initial
        if have == prefix and component.status == state:
            todo = wanted[len(have) :]
            how = f"add {len(todo)} status change(s) to"
        else:
            session.execute(
                sa.delete(ComponentStatusChange).where(
                    col(ComponentStatusChange.component_id) == component.id
                )
            )
            session.execute(
                sa.delete(ComponentDay).where(col(ComponentDay.component_id) == component.id)
            )
            component.status = initial
            todo = wanted
            how = f"replay the status log ({len(todo)} changes) of"
        for change in todo:
            components.change_status(
                session,
                component,
                change.new,
                now=now,
                tz=tz,
                effective_at=change.at,
                incident_id=change.incident_id,
            )
        if src is not None and component.updated_at != src.updated_at:
            component.updated_at = src.updated_at
        if session.dirty or session.new or todo:
            session.add(component)
            report.count("status log", "updated", f"{how} component {component.name!r}")
        else:
            report.count("status log", "unchanged")
        checkpoint()
    checkpoint()  # the reads too: no transaction stays open for the next request

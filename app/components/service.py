"""Component use cases: create, change, order, delete, and the exact status log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.components import events
from app.components.schemas import ComponentCreate, ComponentUpdate, LoggedChange
from app.config import Settings
from app.db import chunked, get_one, insert_with_ids
from app.errors import Conflict, InvalidInput, NotFound
from app.models import (
    MAINTENANCE_OPEN_STATUSES,
    OPEN_STATUSES,
    AffectedComponent,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
)
from app.uptime import rollups


def list_components(session: Session) -> list[Component]:
    """Every component and group, in display order within their level."""
    stmt = select(Component).order_by(col(Component.position), col(Component.name))
    return list(session.exec(stmt))


def get_component(session: Session, component_id: str) -> Component:
    """One component or group, or NotFound."""
    return get_one(session, Component, component_id, "component")


def get_components_for_update(
    session: Session, ids: Iterable[str], *, also: Iterable[str] = (), lock: bool = True
) -> dict[str, Component]:
    """Lock and return components by id, all in one sorted statement so that concurrent
    writers never deadlock. `ids` must exist and not be groups; `also` are locked when they
    still exist (components an incident named earlier). `lock` False: read them only (to
    prepare a change before the transaction that makes it)."""
    required = set(ids)
    wanted = sorted(required | set(also))
    if not wanted:
        return {}
    stmt = select(Component).where(col(Component.id).in_(wanted)).order_by(col(Component.id))
    found = {c.id: c for c in session.exec(stmt.with_for_update() if lock else stmt)}
    missing = sorted(i for i in required if i not in found)
    if missing:
        raise InvalidInput(f"unknown component id(s): {', '.join(missing)}")
    groups = [c.id for c in found.values() if c.is_group]
    if groups:
        raise InvalidInput(
            f"component group(s) {', '.join(groups)} take their status from their components; "
            "name the components instead"
        )
    return found


def display_name(component: Component, groups: dict[str, Component]) -> str:
    """Statuspage's affected-component name: "Group - Child" for grouped components."""
    group = groups.get(component.group_id) if component.group_id else None
    return f"{group.name} - {component.name}" if group else component.name


def child_ids(session: Session, group_id: str) -> list[str]:
    """Ids of a group's components (none for a plain component)."""
    return list(session.exec(select(Component.id).where(Component.group_id == group_id)))


def groups_by_id(session: Session) -> dict[str, Component]:
    """All groups keyed by id."""
    return {c.id: c for c in session.exec(select(Component).where(col(Component.is_group)))}


def change_status(
    session: Session,
    component: Component,
    new_status: ComponentStatus,
    *,
    now: datetime,
    tz: tzinfo,
    effective_at: datetime | None = None,
    incident_id: str | None = None,
) -> LoggedChange | None:
    """Set a component's status and log the change; None when nothing changed (see
    change_statuses)."""
    changed = change_statuses(
        session,
        [(component, new_status)],
        now=now,
        tz=tz,
        effective_at=effective_at,
        incident_id=incident_id,
    )
    return changed[0][1] if changed else None


def change_statuses(
    session: Session,
    targets: Iterable[tuple[Component, ComponentStatus]],
    *,
    now: datetime,
    tz: tzinfo,
    effective_at: datetime | None = None,
    incident_id: str | None = None,
) -> list[tuple[Component, LoggedChange]]:
    """Set components' statuses and log each change; returns the changes made, in order.

    effective_at lets a back-dated incident update place the changes at its display time. It
    is clamped so the log stays ordered per component and never reaches into the future. The
    intervals the changes close go into the daily uptime rollup, split by days in tz.

    A constant number of statements however many components change (one incident may set
    thousands): one read of the log's last entries, one upsert of the rollups, one multi-row
    insert of the log, one UPDATE per new status. Each component appears once in `targets`.
    """
    todo = [(c, s) for c, s in targets if c.status != s]
    if not todo:
        return []
    at = min(effective_at or now, now)
    last = _last_logged(session, [c.id for c, _ in todo])
    intervals: list[rollups.Interval] = []
    rows: list[dict[str, object]] = []
    whens: list[datetime] = []
    for component, new in todo:
        previous = last.get(component.id)
        when = at if previous is None else max(at, previous)
        whens.append(when)
        intervals.append(rollups.Interval(component, component.status, previous, when))
        rows.append(
            {
                "component_id": component.id,
                "old_status": component.status,
                "new_status": new,
                "effective_at": when,
                "recorded_at": now,
                "incident_id": incident_id,
            }
        )
    rollups.add_intervals(session, intervals, tz=tz)
    ids = insert_with_ids(session, ComponentStatusChange, rows)
    changed: list[tuple[Component, LoggedChange]] = []
    by_status: dict[ComponentStatus, list[str]] = defaultdict(list)
    for (component, new), when, change_id in zip(todo, whens, ids, strict=True):
        change = LoggedChange(
            id=change_id,
            component_id=component.id,
            old_status=component.status,
            new_status=new,
            effective_at=when,
            recorded_at=now,
            incident_id=incident_id,
        )
        changed.append((component, change))
        by_status[new].append(component.id)
    for new, ids_now in by_status.items():
        for chunk in chunked(ids_now):
            session.execute(
                sa.update(Component)
                .where(col(Component.id).in_(chunk))
                .values(status=new, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    for component, new in todo:  # what the UPDATEs wrote, without another flush of each
        set_committed_value(component, "status", new)
        set_committed_value(component, "updated_at", now)
    return changed


def _last_logged(session: Session, component_ids: list[str]) -> dict[str, datetime]:
    """The time of each component's newest log entry (none for a component never changed)."""
    last: dict[str, datetime] = {}
    for chunk in chunked(component_ids):
        last.update(
            session.exec(
                select(
                    ComponentStatusChange.component_id,
                    sa.func.max(ComponentStatusChange.effective_at),
                )
                .where(col(ComponentStatusChange.component_id).in_(chunk))
                .group_by(col(ComponentStatusChange.component_id))
            ).all()
        )
    return last


def _check_group(session: Session, group_id: str | None, *, self_id: str | None) -> None:
    if group_id is None:
        return
    if group_id == self_id:
        raise InvalidInput("a component can't be its own group")
    group = session.get(Component, group_id)
    if group is None:
        raise InvalidInput(f"unknown group_id {group_id!r}")
    if not group.is_group:
        raise InvalidInput(f"component {group_id!r} is not a group")


def _siblings(session: Session, group_id: str | None, exclude: str | None) -> list[Component]:
    stmt = select(Component).where(Component.group_id == group_id)
    if exclude:
        stmt = stmt.where(Component.id != exclude)
    return list(session.exec(stmt.order_by(col(Component.position), col(Component.name))))


def _renumber(session: Session, group_id: str | None) -> None:
    """Number a level's components 1..n in their current order."""
    for number, sibling in enumerate(_siblings(session, group_id, None), start=1):
        if sibling.position != number:
            sibling.position = number
            session.add(sibling)


def _place(session: Session, component: Component, position: int | None) -> None:
    """Put a component at a 1-based position among its siblings and renumber them 1..n."""
    siblings = _siblings(session, component.group_id, component.id)
    index = len(siblings) if position is None else min(position - 1, len(siblings))
    siblings.insert(index, component)
    for number, sibling in enumerate(siblings, start=1):
        if sibling.position != number:
            sibling.position = number
            session.add(sibling)


def create_component(
    session: Session, *, data: ComponentCreate, actor: str, now: datetime
) -> Component:
    """Create a component or group."""
    if data.group and data.group_id:
        raise InvalidInput("groups can't be nested: a group has no group_id")
    if data.group and data.status != ComponentStatus.operational:
        raise InvalidInput("a group's status comes from its components; leave status out")
    _check_group(session, data.group_id, self_id=None)
    component = Component(
        name=data.name,
        description=data.description,
        status=data.status,
        showcase=data.showcase,
        only_show_if_degraded=data.only_show_if_degraded,
        is_group=data.group,
        group_id=data.group_id,
        start_date=data.start_date,
        created_at=now,
        updated_at=now,
    )
    _place(session, component, data.position)
    session.add(component)
    session.flush()
    if data.status != ComponentStatus.operational:
        # The log starts from operational so uptime sees a component created broken.
        session.add(
            ComponentStatusChange(
                component_id=component.id,
                old_status=ComponentStatus.operational,
                new_status=data.status,
                effective_at=now,
                recorded_at=now,
            )
        )
    audit.record(
        session, actor, "component.created", component.id, at=now, data=data.model_dump(mode="json")
    )
    return component


def update_component(
    session: Session,
    component_id: str,
    *,
    data: ComponentUpdate,
    settings: Settings,
    actor: str,
    now: datetime,
) -> Component:
    """Change a component's fields; a status change is logged."""
    component = session.exec(
        select(Component).where(Component.id == component_id).with_for_update()
    ).first()
    if component is None:
        raise NotFound(f"component {component_id!r} does not exist")
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "showcase", "only_show_if_degraded", "status", "position"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} can't be null")
    if "status" in changes and component.is_group:
        raise InvalidInput("a group's status comes from its components")
    if "group_id" in changes and changes["group_id"] != component.group_id:
        if component.is_group:
            raise InvalidInput("groups can't be nested: a group has no group_id")
        _check_group(session, changes["group_id"], self_id=component.id)
        left = component.group_id
        component.group_id = changes["group_id"]
        _place(session, component, changes.get("position"))
        session.flush()
        _renumber(session, left)
    elif "position" in changes:
        _place(session, component, changes["position"])
    for field in ("name", "description", "showcase", "only_show_if_degraded", "start_date"):
        if field in changes:
            setattr(component, field, changes[field])
    if "status" in changes:
        change = change_status(session, component, changes["status"], now=now, tz=settings.tz)
        if change is not None:
            events.status_changed(session, settings, component, change, now=now)
    component.updated_at = now
    session.add(component)
    audit.record(
        session,
        actor,
        "component.updated",
        component.id,
        at=now,
        data=data.model_dump(mode="json", exclude_unset=True),
    )
    return component


def delete_component(session: Session, component_id: str, *, actor: str, now: datetime) -> None:
    """Delete a component; refused for a non-empty group or one an open incident affects."""
    component = get_component(session, component_id)
    if component.is_group and _siblings(session, component.id, None):
        raise Conflict("the group still has components; move or delete them first")
    open_use = session.exec(
        select(Incident.id)
        .join(IncidentUpdate, col(IncidentUpdate.incident_id) == col(Incident.id))
        .join(AffectedComponent, col(AffectedComponent.incident_update_id) == IncidentUpdate.id)
        .where(AffectedComponent.component_id == component.id)
        .where(col(Incident.status).in_((*OPEN_STATUSES, *MAINTENANCE_OPEN_STATUSES)))
    ).first()
    if open_use is not None:
        raise Conflict(f"unresolved incident {open_use} affects this component; resolve it first")
    group_id = component.group_id
    session.delete(component)
    session.flush()
    _renumber(session, group_id)
    audit.record(
        session, actor, "component.deleted", component_id, at=now, data={"name": component.name}
    )

"""A timeline entry prepared before its transaction takes the write lock, written in a short one.

On SQLite a writing transaction holds the database's one write lock from its BEGIN IMMEDIATE
to its commit, so every other writer waits for all of it. An entry touching thousands of
components spends nearly all its time reading and computing (what each component goes to,
the status log's intervals, the events' payloads and who hears each one), very little writing.
So the use case first prepares, in a read-only snapshot on a connection of its own (no lock),
and only then begins its one write transaction. There it reads again the few things the plan
was made from (the components concerned and their groups' names, the incident's own row, the
subscribers) and the incidents' data version (app.data_version: every committed write to an
incident, an update or an affected component moves it, in the same transaction): when they are
as they were, it writes the plan with a few bulk statements; when anything moved, the use case
is done again under the lock (correct, only slower). Never a count or a max(id) or max(time)
as a version: a write can leave them as they were (SQLite reuses the ids of deleted rows, a
request's clock can be older than another's). All of it commits at once: readers never see
half of it, and a crash leaves nothing half-written to recover. The edge still owns the one
transaction; this module never commits.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.components import events as component_events
from app.components import service as components
from app.config import Settings
from app.db import RawInsert, chunked, next_ids, read_session
from app.errors import PharosError
from app.incidents import events, read, timeline
from app.incidents.schemas import ComponentChanges
from app.models import (
    AffectedComponent,
    Component,
    ComponentDay,
    ComponentStatus,
    ComponentStatusChange,
    DataVersion,
    Delivery,
    DeliveryStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    OutboxEvent,
    new_id,
    new_ids,
)
from app.notifications import outbox
from app.timefmt import iso
from app.uptime import rollups

T = TypeVar("T")

# Stand-ins in a payload's JSON text for what only the write phase knows: the page's status
# after the change, and the id of the component's status log entry.
# Random per process: no text anyone writes can contain them.
_PAGE_MARK = f"\x00page-{secrets.token_hex(8)}\x00"
_CHANGE_MARK = f"\x00change-{secrets.token_hex(8)}\x00"
_PAGE, _CHANGE = json.dumps(_PAGE_MARK), json.dumps(_CHANGE_MARK)

# Plan observers (tests): called with the session once a plan is checked, before it is written.
_checked_hooks: list[Callable[[Session, bool], None]] = []


def outside_lock(session: Session, prepare: Callable[[Session], T]) -> T | None:
    """`prepare(read)` in a read-only snapshot of its own, when `session` has not begun its
    transaction yet (so no lock is held meanwhile). None when it has begun (preparing apart
    would gain nothing) or when preparing found the change invalid: the use case then runs
    as a whole under the lock and answers as it always does."""
    if session.in_transaction():
        return None
    bind = session.get_bind()
    if not isinstance(bind, sa.Engine):
        return None
    if bind.dialect.name == "postgresql":
        # One snapshot for all the reads (READ COMMITTED would let each see a newer state).
        bind = bind.execution_options(isolation_level="REPEATABLE READ")
    try:
        with read_session(bind) as snapshot:
            # The snapshot begins with its first read (SQLite's WAL read mark, PostgreSQL's
            # REPEATABLE READ snapshot): here, before `prepare` reads the clock. So every
            # write the plan can't see commits after that clock reading, and moves the version
            # the write phase checks (see _seen).
            _incidents_version(snapshot)
            return prepare(snapshot)
    except PharosError:
        return None


@dataclass(frozen=True)
class LeafState:
    """A component as it will be after the change (what its webhook object is made from)."""

    status: ComponentStatus
    name: str
    created_at: datetime
    updated_at: datetime
    position: int
    description: str | None
    showcase: bool
    id: str
    group_id: str | None


@dataclass
class _Event:
    event_type: str
    subject: str
    text: tuple[str, str]  # the payload's JSON before and after the page's stand-in
    change: int | None  # the index of its status log entry in Plan.log
    recipients: list[str]


@dataclass
class Plan:
    """Everything one timeline entry writes, in the drivers' form, and what it was made from."""

    incident: Incident  # as it will be: added (a new one) or copied onto the locked row
    new_incident: bool
    update: IncidentUpdate
    affected: list[tuple[Any, ...]] = field(default_factory=list)
    rollups: list[tuple[Any, ...]] = field(default_factory=list)
    log: list[tuple[Any, ...]] = field(default_factory=list)  # status log rows without id
    by_status: dict[ComponentStatus, list[str]] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)
    seen: tuple[Any, ...] = ()
    watched: frozenset[str] = frozenset()
    now: datetime | None = None
    row: tuple[Any, ...] | None = None  # the incident's columns as the plan read them


def _table(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


def _inserts(dialect: sa.Dialect) -> dict[str, RawInsert]:
    table = _table
    return {
        "affected": RawInsert(
            dialect,
            table(AffectedComponent),
            ["incident_update_id", "component_id", "name", "old_status", "new_status", "set_here"],
        ),
        "log": RawInsert(
            dialect,
            table(ComponentStatusChange),
            [
                "id",
                "component_id",
                "old_status",
                "new_status",
                "effective_at",
                "recorded_at",
                "incident_id",
            ],
        ),
        "rollup": RawInsert(
            dialect,
            table(ComponentDay),
            ["component_id", "day", *rollups.COLUMNS.values()],
            add_on_conflict=["component_id", "day"],
        ),
        "event": RawInsert(
            dialect, table(OutboxEvent), ["id", "type", "created_at", "payload", "subject"]
        ),
        "delivery": RawInsert(
            dialect,
            table(Delivery),
            [
                "id",
                "event_id",
                "subscriber_id",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
        ),
    }


def _incidents_version(session: Session) -> object:
    """The version at which incidents, their updates or their affected components last
    changed (app.data_version); a value equal to nothing when the row is missing."""
    found = session.execute(
        sa.select(col(DataVersion.incidents_at)).where(col(DataVersion.id) == 1)
    ).scalar()
    return object() if found is None else int(found)


def row_of(incident: Incident) -> tuple[Any, ...]:
    """An incident's columns, to compare the locked row with the one a plan was made from."""
    return tuple(getattr(incident, c.name) for c in _table(Incident).columns)


def _seen(session: Session, watched: frozenset[str]) -> tuple[Any, ...]:
    """What a plan depends on, read again cheaply (plain rows, as the driver gives them): the
    watched components as they are, their groups' names, the incidents' data version (any
    incident, update or affected component written: this incident's timeline, other
    incidents' claims on the components), and who hears events."""
    conn = session.connection()
    component = conn.dialect.identifier_preparer.quote(_table(Component).name)
    rows = conn.exec_driver_sql(
        "SELECT id, status, updated_at, name, group_id, position, description, showcase, "  # noqa: S608
        f"created_at FROM {component}"
    ).all()
    mine = [tuple(r) for r in rows if r[0] in watched]
    group_ids = {r[4] for r in mine if r[4] is not None}
    groups = sorted((r[0], r[3]) for r in rows if r[0] in group_ids)
    version = _incidents_version(session)
    return (sorted(mine), groups, version, outbox.hearing(session))


def prepare_entry(
    snapshot: Session,
    incident: Incident,
    *,
    new_incident: bool,
    status: IncidentStatus,
    body: str,
    translations: dict[str, str] | None,
    changes: ComponentChanges,
    display_at: datetime,
    deliver_notifications: bool,
    restoring: bool,
    event_type: str | None,
    settings: Settings,
    now: datetime,
) -> Plan:
    """Plan what timeline.apply_update (and the incident event after it) would write, from a
    snapshot. `incident` is a detached copy; it is changed to what it will be."""
    dialect = snapshot.get_bind().dialect
    inserts = _inserts(dialect)
    seen_before = [] if new_incident else read.affected_component_ids(snapshot, incident.id)
    found = components.get_components_for_update(
        snapshot, list(changes), also=seen_before, lock=False
    )
    unnamed = [i for i in found if i not in changes]
    targets = timeline._restore_targets(snapshot, incident.id, unnamed) if restoring else {}
    groups = components.groups_by_id(snapshot)
    order = sorted(found, key=lambda i: (found[i].position, found[i].name))
    update = IncidentUpdate(
        id=new_id(),
        incident_id=incident.id,
        status=status,
        body=body,
        display_at=display_at,
        created_at=now,
        updated_at=now,
        deliver_notifications=deliver_notifications,
        translations=translations or None,
    )
    plan = Plan(incident=incident, new_incident=new_incident, update=update, now=now)
    new_rows: list[events.AffectedRow] = []
    todo: list[tuple[Component, ComponentStatus]] = []
    after: dict[str, LeafState] = {}
    for component_id in order:
        component = found[component_id]
        old = component.status
        new = timeline.status_after(component_id, old, changes, targets if restoring else None)
        name = components.display_name(component, groups)
        new_rows.append((component_id, name, old, new))
        plan.affected.append(
            inserts["affected"].convert(
                (update.id, component_id, name, old, new, component_id in changes)
            )
        )
        if new != old:
            todo.append((component, new))
        after[component_id] = LeafState(
            status=new,
            name=component.name,
            created_at=component.created_at,
            updated_at=now if new != old else component.updated_at,
            position=component.position,
            description=component.description,
            showcase=component.showcase,
            id=component.id,
            group_id=component.group_id,
        )
    # The status log and the rollups, as components.change_statuses writes them.
    at = min(display_at, now)
    last = components._last_logged(snapshot, [c.id for c, _ in todo])
    by_status: dict[ComponentStatus, list[str]] = defaultdict(list)
    intervals: list[rollups.Interval] = []
    for component, new in todo:
        previous = last.get(component.id)
        when = at if previous is None else max(at, previous)
        intervals.append(rollups.Interval(component, component.status, previous, when))
        plan.log.append(
            inserts["log"].convert(
                (0, component.id, component.status, new, when, now, incident.id)
            )[1:]
        )
        by_status[new].append(component.id)
    plan.by_status = dict(by_status)
    plan.rollups = [
        inserts["rollup"].convert([row[c] for c in inserts["rollup"].columns])
        for row in rollups.rollup_rows(intervals, tz=settings.tz)
    ]
    # The incident as apply_update leaves it.
    if incident.status != IncidentStatus.postmortem:
        incident.status = status
    incident.updated_at = now
    earlier = (
        []
        if new_incident
        else list(
            snapshot.exec(select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id))
        )
    )
    affected_before = _affected_rows(snapshot, [u.id for u in earlier])
    reached = {new for rows in affected_before.values() for _, _, _, new, here in rows if here} | {
        new for component_id, _, _, new in new_rows if component_id in changes
    }
    timeline.derive(incident, [(u.status, u.display_at) for u in [*earlier, update]], reached)
    # The events, in the order apply_update and incident_event queue them.
    heard = outbox.audience(outbox.hearing(snapshot))
    notify = deliver_notifications and not incident.backfilled
    if notify:
        for index, (component, new) in enumerate(todo):
            state = after[component.id]
            payload = {
                "page": _PAGE_MARK,
                "component": component_events.webhook_leaf(state, settings.page_id),
                "component_update": {
                    "old_status": component.status.value,
                    "new_status": new.value,
                    "created_at": iso(now),
                    "component_type": "Component",
                    "id": _CHANGE_MARK,
                    "component_id": component.id,
                },
            }
            concerned = {component.id, *([component.group_id] if component.group_id else [])}
            _add_event(
                plan,
                heard,
                "component.status_changed",
                f"component:{component.id}",
                payload,
                concerned,
                index,
            )
    if event_type is not None and not incident.backfilled:
        affected = {
            u: [(c, n, o, w) for c, n, o, w, _ in rows] for u, rows in affected_before.items()
        }
        affected[update.id] = new_rows
        shown = sorted(
            (after[i] for i in {c for rows in affected.values() for c, *_ in rows} if i in after),
            key=lambda c: (c.position, c.name),
        )
        payload = {
            "page": _PAGE_MARK,
            "incident": events.incident_body(
                settings, incident, events.newest_first([*earlier, update]), affected, list(shown)
            ),
        }
        named = {c for rows in affected.values() for c, *_ in rows}
        concerned = named | {c.group_id for c in after.values() if c.group_id}
        _add_event(plan, heard, event_type, f"incident:{incident.id}", payload, concerned, None)
    plan.delivery_ids = new_ids(sum(len(e.recipients) for e in plan.events))
    plan.watched = frozenset(found)
    plan.seen = _seen(snapshot, plan.watched)
    return plan


def _affected_rows(
    snapshot: Session, update_ids: list[str]
) -> dict[str, list[tuple[str, str, ComponentStatus, ComponentStatus, bool]]]:
    """The affected components of these updates as plain rows, in their order."""
    found: dict[str, list[tuple[str, str, ComponentStatus, ComponentStatus, bool]]] = {
        u: [] for u in update_ids
    }
    for chunk in chunked(update_ids):
        for update_id, *row in snapshot.execute(
            sa.select(
                col(AffectedComponent.incident_update_id),
                col(AffectedComponent.component_id),
                col(AffectedComponent.name),
                col(AffectedComponent.old_status),
                col(AffectedComponent.new_status),
                col(AffectedComponent.set_here),
            )
            .where(col(AffectedComponent.incident_update_id).in_(chunk))
            .order_by(col(AffectedComponent.id))
        ):
            found[update_id].append(tuple(row))
    return found


def _add_event(
    plan: Plan,
    heard: outbox.Audience,
    event_type: str,
    subject: str,
    payload: dict[str, Any],
    component_ids: set[str],
    change: int | None,
) -> None:
    new = outbox.NewEvent(event_type, {}, component_ids, subject)
    plan.events.append(
        _Event(
            event_type,
            subject,
            tuple(json.dumps(payload).split(_PAGE, 1)),  # type: ignore[arg-type]
            change,
            heard.recipients(new),
        )
    )


def write(session: Session, plan: Plan, settings: Settings, locked: Incident | None) -> bool:
    """Write a plan in the session's transaction (under the write lock on SQLite), if what it
    was made from is still as it was; False (nothing written) when anything moved."""
    if session.get_bind().dialect.name == "postgresql":
        # Row locks, as the use case takes them when it reads under the lock (SQLite's
        # transaction holds the whole database's): nobody changes them from the check on.
        for chunk in chunked(sorted(plan.watched)):
            session.execute(
                sa.select(col(Component.id))
                .where(col(Component.id).in_(chunk))
                .order_by(col(Component.id))
                .with_for_update()
            ).all()
        # The subscribers the deliveries will name: nobody deletes one (an unsubscribe)
        # between the check and the deliveries' insert; a delete that came first shows in
        # the check.
        outbox.hold_subscribers(session, {s for e in plan.events for s in e.recipients})
    # The incident's own row too: not every writer of it moves the data version (an import
    # writes through a session of its own), and its columns are copied from the plan below.
    still = _seen(session, plan.watched) == plan.seen and (
        locked is None or row_of(locked) == plan.row
    )
    for hook in _checked_hooks:
        hook(session, still)
    if not still:
        return False
    now = plan.now
    assert now is not None
    inserts = _inserts(session.get_bind().dialect)
    incident = plan.incident
    if locked is None:
        session.add(incident)
    else:
        for name in (
            "status",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "impact",
            "automated",
            "chargers_affected",
            "chargers_total",
        ):
            setattr(locked, name, getattr(incident, name))
        session.add(locked)
    session.add(plan.update)
    session.flush()
    inserts["affected"].execute(session, plan.affected)
    inserts["rollup"].execute(session, plan.rollups)
    log_ids = next_ids(session, ComponentStatusChange, len(plan.log))
    inserts["log"].execute(session, [(i, *row) for i, row in zip(log_ids, plan.log, strict=True)])
    for new, ids in plan.by_status.items():
        for chunk in chunked(ids):
            session.execute(
                sa.update(Component)
                .where(col(Component.id).in_(chunk))
                .values(status=new, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    if not plan.events:
        return True
    page = json.dumps(component_events.page_block(session, settings))
    event_ids = next_ids(session, OutboxEvent, len(plan.events))
    stamp = inserts["event"].convert((0, "", now, None, None))[2]
    inserts["event"].execute(
        session,
        [
            (
                event_id,
                e.event_type,
                stamp,
                _fill(e, page, log_ids),
                e.subject,
            )
            for event_id, e in zip(event_ids, plan.events, strict=True)
        ],
    )
    _, _, _, pending, _, due, created = inserts["delivery"].convert(
        ("", 0, "", DeliveryStatus.pending, 0, now, now)
    )
    fresh = iter(plan.delivery_ids)
    rows: list[tuple[Any, ...]] = []
    pairs: set[tuple[str, str]] = set()
    for event_id, e in zip(event_ids, plan.events, strict=True):
        for subscriber_id in e.recipients:
            rows.append((next(fresh), event_id, subscriber_id, pending, 0, due, created))
            pairs.add((subscriber_id, e.subject))
    inserts["delivery"].execute(session, rows)
    if pairs:
        outbox.fold_retried(session, pairs, before=max(event_ids), now=now)
    return True


def _fill(event: _Event, page: str, log_ids: list[int]) -> str:
    """An event's payload with the page's status and its status log entry's id put in."""
    head, tail = event.text
    if event.change is None:
        return f"{head}{page}{tail}"
    middle, end = tail.split(_CHANGE, 1)
    return f'{head}{page}{middle}"{log_ids[event.change]}"{end}'


def checked(hook: Callable[[Session, bool], None]) -> Callable[[], None]:
    """Call `hook(session, still_valid)` when a plan has been checked under the lock, before
    it is written (tests observe the phases with it). Returns the function that removes it."""
    _checked_hooks.append(hook)
    return lambda: _checked_hooks.remove(hook)


def copy_of(incident: Incident) -> Incident:
    """A detached copy of an incident's columns, to plan changes on."""
    return Incident.model_validate(
        {c.name: getattr(incident, c.name) for c in Incident.__table__.columns}  # type: ignore[attr-defined]
    )

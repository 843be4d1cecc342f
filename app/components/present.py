"""Pure functions over components: severity, group status, page status, Statuspage shapes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, tzinfo
from typing import Any

from app import timefmt
from app.components.schemas import ComponentPublic
from app.models import Component, ComponentStatus

# Worse is larger. Maintenance is planned, so it ranks below any degradation.
SEVERITY: dict[ComponentStatus, int] = {
    ComponentStatus.operational: 0,
    ComponentStatus.under_maintenance: 1,
    ComponentStatus.degraded_performance: 2,
    ComponentStatus.partial_outage: 3,
    ComponentStatus.major_outage: 4,
}


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The most severe of some statuses (operational when there are none)."""
    return max(statuses, key=SEVERITY.__getitem__, default=ComponentStatus.operational)


LEAF_DESCRIPTIONS = {
    # (worst status, all leaves share it) -> (indicator, description), Statuspage's wording
    (ComponentStatus.major_outage, True): ("critical", "Major System Outage"),
    (ComponentStatus.major_outage, False): ("major", "Partial System Outage"),
    (ComponentStatus.partial_outage, True): ("major", "Partial System Outage"),
    (ComponentStatus.partial_outage, False): ("minor", "Minor Service Outage"),
    (ComponentStatus.degraded_performance, True): ("minor", "Degraded System Service"),
    (ComponentStatus.degraded_performance, False): ("minor", "Partially Degraded Service"),
    (ComponentStatus.under_maintenance, True): ("maintenance", "Service Under Maintenance"),
    (ComponentStatus.under_maintenance, False): ("maintenance", "Service Under Maintenance"),
}
IMPACT_DESCRIPTIONS = {
    "maintenance": "Service Under Maintenance",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}


def page_status(
    leaf_statuses: list[ComponentStatus], open_impacts: Iterable[str] = ()
) -> tuple[str, str]:
    """The page's (indicator, description) from its components and unresolved incidents.

    Components decide the wording; an unresolved incident whose impact is worse than the
    components show (say, one with no component set) raises the indicator to its impact.
    """
    top = worst(leaf_statuses)
    if top == ComponentStatus.operational:
        indicator, description = "none", "All Systems Operational"
    else:
        indicator, description = LEAF_DESCRIPTIONS[(top, all(s == top for s in leaf_statuses))]
    incident = max(open_impacts, key=INDICATOR_RANK.__getitem__, default="none")
    if INDICATOR_RANK[incident] > INDICATOR_RANK[indicator]:
        return incident, IMPACT_DESCRIPTIONS[incident]
    return indicator, description


def in_page_order(components: list[Component]) -> list[tuple[Component, ComponentStatus]]:
    """What present_components lists, without building its objects: each component in
    Statuspage's order (top level by position, each group followed by its own) with its status
    (a group's derived from its components). For pages that need only these."""
    children: dict[str, list[Component]] = {}
    for c in components:
        if c.group_id:
            children.setdefault(c.group_id, []).append(c)
    listed = {c.id for c in components}
    out: list[tuple[Component, ComponentStatus]] = []
    for c in components:
        if c.group_id is None or c.group_id not in listed:
            kids = children.get(c.id, [])
            out.append((c, worst(k.status for k in kids) if c.is_group else c.status))
            out.extend((k, k.status) for k in kids)
    return out


def public_json(
    components: list[Component], *, page_id: str, tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """present_components(...) dumped as JSON values (``model_dump(mode="json")``), built
    straight from the rows: the same keys in the same order, without a model per component
    (a page of 500 re-renders them after every change). tests/components/test_present.py
    holds the two to each other."""
    children: dict[str, list[Component]] = {}
    for c in components:
        if c.group_id:
            children.setdefault(c.group_id, []).append(c)

    def one(c: Component) -> dict[str, Any]:
        kids = children.get(c.id, [])
        updated = max([c.updated_at, *(k.updated_at for k in kids)])
        return {
            "id": c.id,
            "page_id": page_id,
            "group_id": c.group_id,
            "created_at": timefmt.iso(c.created_at.astimezone(tz)),
            "updated_at": timefmt.iso(updated.astimezone(tz)),
            "group": c.is_group,
            "name": c.name,
            "description": c.description,
            "position": c.position,
            "status": (worst(k.status for k in kids) if c.is_group else c.status).value,
            "showcase": c.showcase,
            "only_show_if_degraded": c.only_show_if_degraded,
            "automation_email": None,
            "start_date": c.start_date.isoformat() if c.start_date is not None else None,
            "components": [k.id for k in kids] if c.is_group else None,
        }

    listed = {c.id for c in components}
    out: list[dict[str, Any]] = []
    for c in components:
        if c.group_id is None or c.group_id not in listed:
            out.append(one(c))
            out.extend(one(k) for k in children.get(c.id, []))
    return out


def present_components(
    components: list[Component], *, page_id: str, tz: tzinfo = UTC
) -> list[ComponentPublic]:
    """Statuspage's component list: top level by position, each group followed by its own.

    A group's status is derived: the worst of its components.
    """
    children: dict[str, list[Component]] = {}
    for c in components:
        if c.group_id:
            children.setdefault(c.group_id, []).append(c)

    def one(c: Component) -> ComponentPublic:
        kids = children.get(c.id, [])
        return ComponentPublic(
            id=c.id,
            page_id=page_id,
            group_id=c.group_id,
            created_at=c.created_at.astimezone(tz),
            updated_at=max([c.updated_at, *(k.updated_at for k in kids)]).astimezone(tz),
            group=c.is_group,
            name=c.name,
            description=c.description,
            position=c.position,
            status=worst(k.status for k in kids) if c.is_group else c.status,
            showcase=c.showcase,
            only_show_if_degraded=c.only_show_if_degraded,
            start_date=c.start_date,
            components=[k.id for k in kids] if c.is_group else None,
        )

    listed = {c.id for c in components}
    out: list[ComponentPublic] = []
    for c in components:
        if c.group_id is None or c.group_id not in listed:
            out.append(one(c))
            out.extend(one(k) for k in children.get(c.id, []))
    return out

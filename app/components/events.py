"""What the components domain tells subscribers: component.status_changed, built here and
handed to the outbox in the transaction of the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel import Session

from app.components import read
from app.components.schemas import LoggedChange
from app.config import Settings
from app.models import Component, ComponentStatus
from app.notifications import outbox
from app.timefmt import iso


def page_block(session: Session, settings: Settings) -> dict[str, str]:
    """The `page` object of Statuspage's webhooks: id and the current status."""
    indicator, description = read.page_status(session)
    return {
        "id": settings.page_id,
        "status_indicator": indicator,
        "status_description": description,
    }


# Statuspage's component object in webhooks, in its order: fewer keys than /api/v2's.
WEBHOOK_COMPONENT_KEYS = (
    "status",
    "name",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "id",
    "page_id",
    "group_id",
)


def webhook_component(public: dict[str, Any]) -> dict[str, Any]:
    """A component (as /api/v2 dumps it) cut to the keys Statuspage's webhooks carry."""
    return {key: public[key] for key in WEBHOOK_COMPONENT_KEYS}


class Leaf(Protocol):
    """What a component's webhook object is made from (a Component, or its state as planned)."""

    @property
    def status(self) -> ComponentStatus: ...
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def position(self) -> int: ...
    @property
    def description(self) -> str | None: ...
    @property
    def showcase(self) -> bool: ...
    @property
    def id(self) -> str: ...
    @property
    def group_id(self) -> str | None: ...


def webhook_leaf(component: Leaf, page_id: str) -> dict[str, Any]:
    """webhook_component() of a component that is not a group, written directly: the same
    keys and values as presenting it and cutting the dump, at a fraction of the cost (an
    incident can change thousands of components at once)."""
    return {
        "status": component.status.value,
        "name": component.name,
        "created_at": iso(component.created_at, UTC),
        "updated_at": iso(component.updated_at, UTC),
        "position": component.position,
        "description": component.description,
        "showcase": component.showcase,
        "id": component.id,
        "page_id": page_id,
        "group_id": component.group_id,
    }


def component_payload(
    session: Session,
    settings: Settings,
    component: Component,
    change: LoggedChange,
    page: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`page` + `component` + `component_update` as Statuspage's component webhooks carry them.

    `page`: the page block when the caller has it (one for many changes made together: reading
    it per change re-reads every component, quadratic for an incident on thousands of them).
    """
    page = page if page is not None else page_block(session, settings)
    return _payload(page, settings.page_id, component, change)


def _payload(
    page: dict[str, str], page_id: str, component: Component, change: LoggedChange
) -> dict[str, Any]:
    return {
        "page": page,
        "component": webhook_leaf(component, page_id),
        "component_update": {
            "old_status": change.old_status.value,
            "new_status": change.new_status.value,
            "created_at": iso(change.recorded_at),
            "component_type": "Component",
            "id": str(change.id),
            "component_id": component.id,
        },
    }


def status_changed(
    session: Session,
    settings: Settings,
    component: Component,
    change: LoggedChange,
    *,
    now: datetime,
) -> None:
    """Queue component.status_changed for the subscribers of the component (or its group)."""
    statuses_changed(session, settings, [(component, change)], now=now)


def statuses_changed(
    session: Session,
    settings: Settings,
    changed: Sequence[tuple[Component, LoggedChange]],
    *,
    now: datetime,
) -> None:
    """Queue component.status_changed for each change made together, in their order.

    One event per component, as Statuspage sends one component webhook per component change,
    each for the subscribers of that component (or of its group). Built in one pass: the page
    block is read once (the state after them all) and the events go to the outbox together.
    """
    if not changed:
        return
    page, page_id = page_block(session, settings), settings.page_id
    outbox.emit_many(
        session,
        [
            outbox.NewEvent(
                event_type="component.status_changed",
                payload=_payload(page, page_id, component, change),
                component_ids={component.id, *([component.group_id] if component.group_id else [])},
                subject=f"component:{component.id}",
            )
            for component, change in changed
        ],
        now=now,
    )

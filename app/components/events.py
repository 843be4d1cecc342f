"""What the components domain tells subscribers: component.status_changed, built here and
handed to the outbox in the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.components import present, read
from app.config import Settings
from app.models import Component, ComponentStatusChange
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


def component_payload(
    session: Session,
    settings: Settings,
    component: Component,
    change: ComponentStatusChange,
    page: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`page` + `component` + `component_update` as Statuspage's component webhooks carry them.

    `page`: the page block when the caller has it (one for many changes made together: reading
    it per change re-reads every component, quadratic for an incident on thousands of them).
    """
    (public,) = present.present_components([component], page_id=settings.page_id)
    return {
        "page": page if page is not None else page_block(session, settings),
        "component": webhook_component(public.model_dump(mode="json")),
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
    change: ComponentStatusChange,
    *,
    now: datetime,
    page: dict[str, str] | None = None,
) -> None:
    """Queue component.status_changed for the subscribers of the component (or its group)."""
    session.flush()  # the change's id is part of the payload
    outbox.emit(
        session,
        event_type="component.status_changed",
        payload=component_payload(session, settings, component, change, page),
        component_ids=read.with_groups(session, {component.id}),
        now=now,
        subject=f"component:{component.id}",
    )

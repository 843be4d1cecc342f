"""Incident templates (Statuspage's): a saved title, message, status and component statuses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.db import get_one
from app.errors import Conflict
from app.incidents.schemas import ComponentChanges, _realtime
from app.models import IncidentStatus, IncidentTemplate
from app.schemas import Body, Name


class TemplateCreate(BaseModel):
    """A new incident template."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    title: Name
    body: Body
    status: IncidentStatus = IncidentStatus.investigating
    components: ComponentChanges = Field(default_factory=dict)

    _status = field_validator("status")(_realtime)


def list_templates(session: Session) -> list[IncidentTemplate]:
    """Every template, by name."""
    return list(session.exec(select(IncidentTemplate).order_by(col(IncidentTemplate.name))))


def get_template(session: Session, template_id: str) -> IncidentTemplate:
    """One template or NotFound."""
    return get_one(session, IncidentTemplate, template_id, "template")


def create_template(
    session: Session, *, data: TemplateCreate, actor: str, now: datetime
) -> IncidentTemplate:
    """Save a template; names are unique."""
    taken = session.exec(select(IncidentTemplate.id).where(IncidentTemplate.name == data.name))
    if taken.first() is not None:
        raise Conflict(f"a template named {data.name!r} already exists")
    template = IncidentTemplate(
        name=data.name,
        title=data.title,
        body=data.body,
        status=data.status,
        components={k: v.value for k, v in data.components.items()},
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    audit.record(session, actor, "template.created", template.id, at=now, data={"name": data.name})
    return template


def delete_template(session: Session, template_id: str, *, actor: str, now: datetime) -> None:
    """Delete a template."""
    template = get_template(session, template_id)
    session.delete(template)
    audit.record(
        session, actor, "template.deleted", template_id, at=now, data={"name": template.name}
    )

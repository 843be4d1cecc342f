"""Importing incident templates through the template service (names stay unique)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.errors import PharosError
from app.importers import keys
from app.importers.keys import Checkpoint
from app.importers.report import ImportReport
from app.importers.source import SourceError, SourceTemplate, digest, parse
from app.incidents import templates
from app.incidents.schemas import REALTIME
from app.models import IncidentTemplate

KIND = "template"
ACTOR = "import:statuspage"


def import_templates(
    session: Session,
    raws: list[Any],
    *,
    source: str,
    component_ids: dict[str, str],
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """Create each template (one commit each); a changed one is replaced."""
    for raw in raws:
        try:
            t = parse(SourceTemplate, raw, KIND)
        except SourceError as exc:
            report.skip(KIND, "?", exc.message)
            continue
        fingerprint = digest(raw)
        key = keys.find(session, source, KIND, t.id)
        existing = session.get(IncidentTemplate, key.pharos_id) if key else None
        if key and existing and key.digest == fingerprint:
            report.count(KIND, "unchanged")
            continue
        status = t.update_status or REALTIME[0]
        if status not in REALTIME:
            report.skip(KIND, repr(t.name), "a maintenance template (Pharos's are for incidents)")
            continue
        changes = {
            component_ids[c.id]: c.status
            for c in t.components
            if c.id in component_ids and c.status is not None
        }
        try:
            data = templates.TemplateCreate(
                name=t.name,
                title=t.title or t.name,
                body=t.body or "",
                status=status,
                components=changes,
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            report.skip(KIND, repr(t.name), f"{error['loc'][0]}: {error['msg']}")
            continue
        if existing is not None:
            templates.delete_template(session, existing.id, actor=ACTOR, now=now)
        try:
            created = templates.create_template(session, data=data, actor=ACTOR, now=now)
        except PharosError as exc:
            session.rollback()
            report.skip(KIND, repr(t.name), exc.message)
            continue
        keys.remember(session, source, KIND, t.id, created.id, fingerprint, now=now)
        outcome = "updated" if existing is not None else "created"
        report.count(KIND, outcome, f"{outcome[:-1]} template {t.name!r}")
        checkpoint()
    checkpoint()  # the reads too: no transaction stays open for the next request

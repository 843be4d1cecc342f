"""`pharos dump`: every incident written back to incidents/<slug>.md, in the canonical form
that `pharos sync` reads, so dump -> sync into a fresh database -> dump gives the same bytes."""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path

from sqlmodel import Session, col, select

from app.components import service as components
from app.incidents import read
from app.models import Component, ComponentStatus, Incident
from app.publishing.incident_files import IncidentFile, UpdateEntry, render_file


def slugify(text: str) -> str:
    """Lowercase words joined by '-', at most 60 characters."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-") or "incident"


def dump_incidents(session: Session, directory: Path, *, tz: tzinfo) -> list[Path]:
    """Write every incident to <directory>/<slug>.md; incidents without a file get a slug.

    Returns the files whose content changed. Unchanged files are not rewritten.
    """
    found = list(
        session.exec(
            select(Incident)
            .where(col(Incident.scheduled_for).is_(None))
            .order_by(col(Incident.started_at), col(Incident.id))
        )
    )
    everything = {c.id: c for c in components.list_components(session)}
    groups = {i: c for i, c in everything.items() if c.is_group}
    taken = {i.source_slug for i in found if i.source_slug}
    written: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    for detail in read.load_details(session, found):
        incident = detail.incident
        if incident.source_slug is None:
            incident.source_slug = _free_slug(incident, taken, tz)
            taken.add(incident.source_slug)
            session.add(incident)
        text = render_file(_as_file(detail, everything, groups, directory), tz)
        path = directory / f"{incident.source_slug}.md"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _free_slug(incident: Incident, taken: set[str], tz: tzinfo) -> str:
    base = f"{incident.started_at.astimezone(tz):%Y-%m-%d}-{slugify(incident.name)}"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _as_file(
    detail: read.IncidentDetail,
    everything: dict[str, Component],
    groups: dict[str, Component],
    directory: Path,
) -> IncidentFile:
    """An incident as the file that would import it."""
    incident = detail.incident

    def set_here(update_id: str) -> dict[str, ComponentStatus]:
        out = {}
        for row in detail.affected.get(update_id, []):
            if row.set_here:
                current = everything.get(row.component_id)
                name = components.display_name(current, groups) if current else row.name
                out[name] = row.new_status
        return out

    updates = list(reversed(detail.updates))
    entries = [
        UpdateEntry(
            status=u.status,
            at=u.display_at,
            body=u.body,
            components=set_here(u.id) if n else {},
            line=0,
        )
        for n, u in enumerate(updates)
    ]
    published = incident.postmortem_published_at is not None
    body = incident.postmortem_published_body if published else incident.postmortem_body
    return IncidentFile(
        path=directory / f"{incident.source_slug}.md",
        slug=incident.source_slug or "",
        title=incident.name,
        impact=incident.impact_override,
        components=set_here(updates[0].id) if updates else {},
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        updates=entries,
        postmortem_published_at=incident.postmortem_published_at,
        postmortem=(body or "").strip(),
    )

"""Importing components and groups: ids, names, order, groups and flags as the source has them.

Written directly rather than through components.service.create_component, which numbers
positions itself, stamps created_at with the clock and picks a new id: an import keeps the
source's. Statuses are not set here: status_log.py replays them from the imported incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.importers import keys
from app.importers.keys import Checkpoint
from app.importers.report import ImportReport
from app.importers.source import SourceComponent, SourceGroup, digest, parse
from app.models import Component
from app.schemas import NAME_MAX

KIND = "component"
ACTOR = "import:statuspage"


def merge_groups(components: list[Any], groups: list[Any]) -> list[tuple[SourceComponent, Any]]:
    """Groups first (from /component-groups and group rows of /components), then components,
    each with the raw object its digest is taken of; children learn their group either way."""
    rows = [(parse(SourceComponent, raw, "component"), raw) for raw in components]
    by_id = {c.id: (c, raw) for c, raw in rows}
    out_groups: dict[str, tuple[SourceComponent, Any]] = {}
    for raw in groups:
        g = parse(SourceGroup, raw, "component group")
        known, known_raw = by_id.get(g.id, (None, None))
        merged = SourceComponent(
            id=g.id,
            name=g.name,
            description=g.description,
            position=g.position,
            group=True,
            created_at=g.created_at,
            updated_at=g.updated_at,
            components=g.components,
            showcase=known.showcase if known else False,
            only_show_if_degraded=known.only_show_if_degraded if known else False,
        )
        out_groups[g.id] = (merged, {"group": raw, "component": known_raw})
    for c, raw in rows:
        if c.group and c.id not in out_groups:
            out_groups[c.id] = (c, raw)
    member_of = {kid: g.id for g, _ in out_groups.values() for kid in g.components or []}
    leaves = []
    for c, raw in rows:
        if c.id in out_groups:
            continue
        if c.group_id is None and c.id in member_of:
            c = c.model_copy(update={"group_id": member_of[c.id]})
        leaves.append((c, raw))
    return [*out_groups.values(), *leaves]


def import_components(
    session: Session,
    rows: list[tuple[SourceComponent, Any]],
    *,
    source: str,
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> dict[str, str]:
    """Create or update each component (one commit each); source id -> Pharos id."""
    ids: dict[str, str] = {}
    for c, raw in rows:
        if len(c.name) > NAME_MAX:
            report.skip(KIND, repr(c.name[:40]), f"name longer than {NAME_MAX} characters")
            continue
        group_id = ids.get(c.group_id) if c.group_id else None
        if c.group_id and group_id is None:
            report.notes.append(f"component {c.name!r}: its group {c.group_id} was not imported")
        ids[c.id] = _import_one(
            session, c, digest(raw), group_id=group_id, source=source, now=now, report=report
        )
        checkpoint()
    checkpoint()  # the reads too: no transaction stays open for the next request
    return ids


def _import_one(
    session: Session,
    c: SourceComponent,
    fingerprint: str,
    *,
    group_id: str | None,
    source: str,
    now: datetime,
    report: ImportReport,
) -> str:
    kind = "group" if c.group else KIND
    key = keys.find(session, source, KIND, c.id)
    existing = session.get(Component, key.pharos_id) if key else None
    if key and existing and key.digest == fingerprint:
        report.count(kind, "unchanged")
        return existing.id
    if existing is None:
        existing = Component(id=keys.claim_id(session, Component, c.id), name=c.name)
        action, outcome = "create", "created"
    else:
        action, outcome = "update", "updated"
    existing.name = c.name
    existing.description = c.description
    existing.position = c.position
    existing.showcase = c.showcase
    existing.only_show_if_degraded = c.only_show_if_degraded
    existing.is_group = c.group
    existing.group_id = None if c.group else group_id
    existing.start_date = c.start_date
    existing.created_at = c.created_at
    existing.updated_at = c.updated_at
    session.add(existing)
    session.flush()
    keys.remember(session, source, KIND, c.id, existing.id, fingerprint, now=now)
    audit.record(
        session,
        ACTOR,
        f"component.import_{outcome}",
        existing.id,
        at=now,
        data={"source": source, "external_id": c.id, "name": c.name},
    )
    report.count(kind, outcome, f"{action} {kind} {c.name!r}")
    return existing.id


def source_statuses(rows: list[tuple[SourceComponent, Any]]) -> dict[str, SourceComponent]:
    """The source's components (not groups) by source id: their current status and times."""
    return {c.id: c for c, _ in rows if not c.group}

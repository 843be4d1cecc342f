"""Incidents as code: `pharos sync` imports incidents/<slug>.md files through the incident,
postmortem and component services (incidents_dump.py writes them back).

A sync is one unit of work (the caller's: `pharos sync` commits it, or rolls it back for a dry
run) with a savepoint per file: a file that fails leaves nothing behind, the others go in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from pydantic import ValidationError
from sqlmodel import Session, select

from app.clock import Clock
from app.components import service as components
from app.components.schemas import ComponentCreate
from app.config import Settings
from app.errors import PharosError
from app.incidents import postmortems, read
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, UpdateCreate, UpdateEdit
from app.models import Component, ComponentStatus, Incident, IncidentStatus
from app.publishing.incident_files import (
    FileError,
    IncidentFile,
    UpdateEntry,
    parse_file,
)

ACTOR = "incidents-as-code"


@dataclass
class FileOutcome:
    """What a sync did (or would do) with one file."""

    path: Path
    actions: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class SyncReport:
    """Every file's outcome, in the order they were applied."""

    outcomes: list[FileOutcome]

    @property
    def errors(self) -> list[str]:
        """The problems, one line each."""
        return [o.error for o in self.outcomes if o.error]

    @property
    def changed(self) -> bool:
        """Whether any file changed the database."""
        return any(o.actions and not o.error for o in self.outcomes)


def incident_paths(directory: Path) -> list[Path]:
    """The incident files of a folder: *.md except README.md and names starting with _."""
    return sorted(
        p
        for p in directory.glob("*.md")
        if p.name.lower() != "readme.md" and not p.name.startswith(("_", "."))
    )


def load_files(
    directory: Path, *, tz: tzinfo, now: datetime
) -> tuple[list[IncidentFile], list[FileOutcome]]:
    """Parse every incident file of a folder: the good ones, and an outcome per bad one."""
    if not directory.is_dir():
        return [], [FileOutcome(path=directory, error=f"{directory}: not a folder")]
    parsed: list[IncidentFile] = []
    bad: list[FileOutcome] = []
    for path in incident_paths(directory):
        try:
            parsed.append(parse_file(path, path.read_text(encoding="utf-8"), tz=tz, now=now))
        except FileError as exc:
            bad.append(FileOutcome(path=path, error=str(exc)))
        except UnicodeDecodeError:
            bad.append(FileOutcome(path=path, error=f"{path}:1: file: not UTF-8 text"))
    return parsed, bad


def sync_incidents(
    session: Session,
    directory: Path,
    *,
    settings: Settings,
    clock: Clock,
    create_components: bool = False,
) -> SyncReport:
    """Make the database hold what the files say; files are matched to incidents by slug.

    Every write reads the clock afresh, so updates posted in one sync keep their file order.
    """
    files, outcomes = load_files(directory, tz=settings.tz, now=clock())
    # Oldest first, so each component's status log is written in time order.
    for parsed in sorted(files, key=lambda f: (f.started_at, f.slug)):
        outcome = FileOutcome(path=parsed.path)
        try:
            with session.begin_nested():  # a file with a problem writes nothing
                outcome.actions = _sync_file(
                    session, parsed, settings=settings, clock=clock, create=create_components
                )
        except FileError as exc:
            outcome.error = str(exc)
        except (PharosError, ValidationError) as exc:
            message = exc.message if isinstance(exc, PharosError) else _first_error(exc)
            outcome.error = f"{parsed.path}:1: incident: {message}"
        outcomes.append(outcome)
    return SyncReport(outcomes=outcomes)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


def _component_ids(
    session: Session, f: IncidentFile, *, create: bool, clock: Clock, actions: list[str]
) -> dict[str, str]:
    """Component display names used in the file -> ids, creating missing ones if asked."""
    everything = components.list_components(session)
    groups = {c.id: c for c in everything if c.is_group}
    by_name = {components.display_name(c, groups): c for c in everything if not c.is_group}
    group_names = {g.name: g for g in groups.values()}
    wanted: list[tuple[str, int, str]] = [
        (name, f.line_of("components"), "components") for name in f.components
    ]
    for n, u in enumerate(f.updates, start=1):
        wanted += [(name, u.line, f"updates[{n}].components") for name in u.components]
    ids: dict[str, str] = {}
    for name, line, where in wanted:
        if name in ids:
            continue
        if name in by_name:
            ids[name] = by_name[name].id
            continue
        if name in group_names:
            raise FileError(f.path, line, f"{where}.{name}", "a group; name its components")
        if not create:
            raise FileError(
                f.path,
                line,
                f"{where}.{name}",
                "no component has this name; create it, or sync with --create-components",
            )
        ids[name] = _create_component(session, name, group_names, clock=clock).id
        actions.append(f"create component {name!r}")
    return ids


def _create_component(
    session: Session, name: str, groups: dict[str, Component], *, clock: Clock
) -> Component:
    """A component named in a file; "Group - Name" goes into an existing group of that name."""
    group_name, _, child = name.partition(" - ")
    group = groups.get(group_name) if child else None
    data = ComponentCreate(name=child if group else name, group_id=group.id if group else None)
    return components.create_component(session, data=data, actor=ACTOR, now=clock())


def _sync_file(
    session: Session, f: IncidentFile, *, settings: Settings, clock: Clock, create: bool
) -> list[str]:
    actions: list[str] = []
    ids = _component_ids(session, f, create=create, clock=clock, actions=actions)
    incident = session.exec(select(Incident).where(Incident.source_slug == f.slug)).first()
    if incident is None:
        _import(session, f, ids, settings=settings, clock=clock, actions=actions)
    else:
        _reconcile(session, incident, f, ids, settings=settings, clock=clock, actions=actions)
    return actions


def _changes(
    statuses: dict[str, ComponentStatus], ids: dict[str, str]
) -> dict[str, ComponentStatus]:
    return {ids[name]: status for name, status in statuses.items()}


def _import(
    session: Session,
    f: IncidentFile,
    ids: dict[str, str],
    *,
    settings: Settings,
    clock: Clock,
    actions: list[str],
) -> None:
    """A new file: open the incident, post its timeline, claim the slug, add the postmortem."""
    first, rest = f.updates[0], f.updates[1:]
    # An incident that is over when first imported is history: backfilled, and silent.
    backfilled = f.updates[-1].status == IncidentStatus.resolved
    notify = not backfilled
    data = IncidentCreate(
        name=f.title,
        status=first.status,
        body=first.body,
        components=_changes(f.components, ids),
        impact_override=f.impact,
        started_at=f.started_at,
        display_at=first.at,
        deliver_notifications=notify,
        backfilled=backfilled,
    )
    incident = incidents.open_incident(
        session, data=data, settings=settings, actor=ACTOR, now=clock()
    )
    for u in rest:
        _post(session, incident.id, u, ids, notify=notify, settings=settings, clock=clock)
    incident.source_slug = f.slug
    session.add(incident)
    session.flush()
    how = "backfilled, no notifications" if backfilled else "notifies subscribers"
    actions.append(f"create incident {f.title!r} with {len(f.updates)} updates ({how})")
    _sync_postmortem(session, incident, f, clock=clock, settings=settings, actions=actions)


def _post(
    session: Session,
    incident_id: str,
    u: UpdateEntry,
    ids: dict[str, str],
    *,
    notify: bool,
    settings: Settings,
    clock: Clock,
) -> None:
    data = UpdateCreate(
        status=u.status,
        body=u.body,
        components=_changes(u.components, ids),
        display_at=u.at,
        deliver_notifications=notify,
    )
    incidents.post_update(
        session, incident_id, data=data, settings=settings, actor=ACTOR, now=clock()
    )


def _reconcile(
    session: Session,
    incident: Incident,
    f: IncidentFile,
    ids: dict[str, str],
    *,
    settings: Settings,
    clock: Clock,
    actions: list[str],
) -> None:
    """A known file: apply what changed; the timeline may grow and be corrected, not rewritten."""
    (detail,) = read.load_details(session, [incident])
    have = list(reversed(detail.updates))  # oldest first
    if len(have) > len(f.updates):
        raise FileError(
            f.path,
            f.line_of("updates"),
            "updates",
            f"the incident has {len(have)} updates, the file {len(f.updates)}; "
            "updates can't be removed",
        )
    for n, (db, fu) in enumerate(zip(have, f.updates, strict=False), start=1):
        if db.status != fu.status:
            raise FileError(
                f.path,
                fu.line,
                f"updates[{n}].status",
                f"was {db.status.value!r}; an update's status can't change, add an update",
            )
        wanted = _changes(f.components if n == 1 else fu.components, ids)
        set_here = {a.component_id: a.new_status for a in detail.affected[db.id] if a.set_here}
        if wanted != set_here:
            where = "components" if n == 1 else f"updates[{n}].components"
            line = f.line_of("components") if n == 1 else fu.line
            raise FileError(
                f.path, line, where, "an update's components can't change; add an update"
            )
        edit: dict[str, object] = {}
        if db.body != fu.body:
            edit["body"] = fu.body
        if db.display_at != fu.at:
            edit["display_at"] = fu.at
        if edit:
            incidents.edit_update(
                session,
                incident.id,
                db.id,
                data=UpdateEdit.model_validate(edit),
                actor=ACTOR,
                now=clock(),
            )
            actions.append(f"edit update {n}: {', '.join(edit)}")
    header = (f.title, f.impact, f.started_at)
    if header != (incident.name, incident.impact_override, incident.started_at):
        incidents.edit_incident(
            session,
            incident.id,
            name=f.title,
            impact_override=f.impact,
            started_at=f.started_at,
            actor=ACTOR,
            now=clock(),
        )
        actions.append("edit title, impact or started_at")
    for n, u in enumerate(f.updates[len(have) :], start=len(have) + 1):
        _post(session, incident.id, u, ids, notify=True, settings=settings, clock=clock)
        actions.append(f"add update {n} ({u.status.value}, notifies subscribers)")
    _sync_postmortem(session, incident, f, clock=clock, settings=settings, actions=actions)


def _sync_postmortem(
    session: Session,
    incident: Incident,
    f: IncidentFile,
    *,
    settings: Settings,
    clock: Clock,
    actions: list[str],
) -> None:
    """Draft, publish, republish or unpublish so the postmortem matches the file."""
    body = f.postmortem
    draft = (incident.postmortem_body or "").strip()
    published = incident.postmortem_published_at is not None
    if f.postmortem_published_at is not None:
        same = (incident.postmortem_published_body or "").strip() == body
        if published and same and incident.postmortem_published_at == f.postmortem_published_at:
            return
        if draft != body:
            postmortems.save_postmortem_draft(
                session, incident.id, body=body, actor=ACTOR, now=clock()
            )
        # The first publication is news (unless the incident is history); a re-edit is not.
        notify = not postmortems.published_before(session, incident) and not incident.backfilled
        postmortems.publish_postmortem(
            session,
            incident.id,
            published_at=f.postmortem_published_at,
            notify_subscribers=notify,
            settings=settings,
            actor=ACTOR,
            now=clock(),
        )
        verb = "republish" if published else "publish"
        actions.append(f"{verb} postmortem{' (notifies subscribers)' if notify else ''}")
        return
    if published:
        postmortems.unpublish_postmortem(session, incident.id, actor=ACTOR, now=clock())
        actions.append("unpublish postmortem")
    if body and draft != body:
        postmortems.save_postmortem_draft(session, incident.id, body=body, actor=ACTOR, now=clock())
        actions.append("save postmortem draft")

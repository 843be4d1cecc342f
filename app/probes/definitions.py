"""Probes staff manage (staff API and admin UI) next to the probes file's.

A managed probe is its table in the probes file's shape, kept in probe_definition and
validated by the same code as the file. The file wins: a name the file defines can't be
created or changed here, and a managed probe the file later defines too is shadowed (shown,
not run) until it is deleted. Every change is audited; services only flush.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, delete, select

from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, InvalidInput, NotFound
from app.models import ProbeDefinition, ProbeState
from app.probes import service
from app.probes.config import ProbeConfig, ProbeConfigError, load_probes, parse_probes

SECRET_FIELDS = ("password", "token")
MASK = "********"
_FILE_CACHE: dict[str, tuple[float, list[ProbeConfig]]] = {}


def file_probes(settings: Settings) -> list[ProbeConfig]:
    """The probes file's probes (re-read when the file changes); none without a file."""
    if not settings.probes_file:
        return []
    path = Path(settings.probes_file)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return []
    cached = _FILE_CACHE.get(str(path))
    if cached is None or cached[0] != mtime:
        try:
            cached = (mtime, load_probes(path))
        except ProbeConfigError:
            return cached[1] if cached else []
        _FILE_CACHE[str(path)] = cached
    return cached[1]


def file_names(settings: Settings) -> set[str]:
    """Names the probes file defines."""
    return {p.name for p in file_probes(settings)}


def validate(table: dict[str, Any]) -> ProbeConfig:
    """A probe table checked as the file's are; InvalidInput naming the bad fields."""
    try:
        (probe,) = parse_probes({"probe": [table]}, source="probe")
    except ProbeConfigError as exc:
        raise InvalidInput(str(exc).removeprefix("probe: ")) from exc
    return probe


def redacted(table: dict[str, Any]) -> dict[str, Any]:
    """A table fit to show: secrets masked."""
    return {k: (MASK if k in SECRET_FIELDS and v else v) for k, v in table.items()}


def list_definitions(session: Session) -> list[ProbeDefinition]:
    """Every managed probe, by name."""
    return list(session.exec(select(ProbeDefinition).order_by(col(ProbeDefinition.name))))


def get_definition(session: Session, name: str) -> ProbeDefinition:
    """One managed probe, or NotFound."""
    found = session.get(ProbeDefinition, name)
    if found is None:
        raise NotFound(f"no probe named {name!r} is managed here")
    return found


def runnable(session: Session, settings: Settings) -> list[ProbeConfig]:
    """The probes to run now: the file's, then managed ones neither paused nor shadowed."""
    from_file = file_probes(settings)
    taken = {p.name for p in from_file}
    managed = []
    for definition in list_definitions(session):
        if definition.paused or definition.name in taken:
            continue
        try:
            managed.append(validate(definition.config))
        except InvalidInput:  # stored before a rule tightened: skip it, don't stop the others
            continue
    return [*from_file, *managed]


def _refuse_file_name(settings: Settings, name: str) -> None:
    if name in file_names(settings):
        raise Conflict(
            f"probe {name!r} is defined in the probes file ({settings.probes_file}); "
            "change it there"
        )


def create(
    session: Session, table: dict[str, Any], *, settings: Settings, actor: str, now: datetime
) -> ProbeDefinition:
    """Add a probe; it runs from the runner's next round."""
    probe = validate(table)
    _refuse_file_name(settings, probe.name)
    if session.get(ProbeDefinition, probe.name) is not None:
        raise Conflict(f"a probe named {probe.name!r} exists")
    definition = ProbeDefinition(
        name=probe.name,
        kind=probe.kind,
        config={k: v for k, v in table.items() if v is not None},
        created_at=now,
        updated_at=now,
    )
    session.add(definition)
    service.sync_states(session, [probe], now=now)
    shown = redacted(definition.config)
    audit.record(session, actor, "probe.created", probe.name, at=now, data={"config": shown})
    return definition


def update(
    session: Session,
    name: str,
    changes: dict[str, Any],
    *,
    settings: Settings,
    actor: str,
    now: datetime,
) -> ProbeDefinition:
    """Change a managed probe's fields (None removes one; a masked secret keeps it)."""
    _refuse_file_name(settings, name)
    definition = get_definition(session, name)
    if "name" in changes and changes["name"] != name:
        raise InvalidInput("a probe can't be renamed: create a new one and delete this one")
    table = dict(definition.config)
    for key, value in changes.items():
        if key in SECRET_FIELDS and value == MASK:
            continue
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    probe = validate(table)
    definition.config, definition.kind, definition.updated_at = table, probe.kind, now
    session.add(definition)
    service.sync_states(session, [probe], now=now)
    shown = {k: v for k, v in changes.items() if k not in SECRET_FIELDS}
    audit.record(session, actor, "probe.updated", name, at=now, data={"changes": shown})
    return definition


def set_paused(
    session: Session, name: str, paused: bool, *, settings: Settings, actor: str, now: datetime
) -> ProbeDefinition:
    """Pause (stop running; the state is kept) or resume a managed probe."""
    _refuse_file_name(settings, name)
    definition = get_definition(session, name)
    if definition.paused != paused:
        definition.paused, definition.updated_at = paused, now
        session.add(definition)
        action = "probe.paused" if paused else "probe.resumed"
        audit.record(session, actor, action, name, at=now)
    return definition


def remove(session: Session, name: str, *, settings: Settings, actor: str, now: datetime) -> None:
    """Delete a managed probe and its state (an incident it drove stays, now staff's)."""
    _refuse_file_name(settings, name)
    definition = get_definition(session, name)
    session.delete(definition)
    session.exec(delete(ProbeState).where(col(ProbeState.name) == name))
    audit.record(session, actor, "probe.deleted", name, at=now, data={"kind": definition.kind})
    session.flush()


def definition_of(session: Session, settings: Settings, name: str) -> ProbeConfig:
    """The probe by this name, from the file or managed (paused ones included)."""
    for probe in file_probes(settings):
        if probe.name == name:
            return probe
    return validate(get_definition(session, name).config)


def describe(
    session: Session, settings: Settings
) -> dict[str, tuple[str, bool, bool, dict[str, Any] | None]]:
    """Per probe name: (source, paused, shadowed, table with secrets masked)."""
    found: dict[str, tuple[str, bool, bool, dict[str, Any] | None]] = {}
    for probe in file_probes(settings):
        table = probe.model_dump(mode="json", exclude_defaults=True)
        found[probe.name] = ("file", False, False, redacted({"kind": probe.kind, **table}))
    for definition in list_definitions(session):
        if definition.name in found:
            source, _, _, shown_file = found[definition.name]
            found[definition.name] = (source, False, True, shown_file)
            continue
        shown = redacted(definition.config)
        found[definition.name] = ("managed", definition.paused, False, shown)
    return found

"""The incidents/<slug>.md file format: YAML front matter and a Markdown postmortem.

Parsing keeps every scalar as text (no YAML type guessing) and remembers the line of every
field, so a mistake is reported as `file:line: field: what is wrong`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import yaml

from app.models import ComponentStatus, Impact, IncidentStatus
from app.schemas import BODY_MAX, EARLIEST, LATEST, NAME_MAX, POSTMORTEM_MAX

FENCE = "---"
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
NULL_TAG = "tag:yaml.org,2002:null"
UPDATE_STATUSES = (
    IncidentStatus.investigating,
    IncidentStatus.identified,
    IncidentStatus.monitoring,
    IncidentStatus.resolved,
)
INCIDENT_IMPACTS = (Impact.none, Impact.minor, Impact.major, Impact.critical)
TOP_KEYS = ("title", "impact", "components", "started_at", "resolved_at", "updates", "postmortem")
UPDATE_KEYS = ("status", "at", "body", "components")
RESOLVED_BODY = "This incident has been resolved."
E = TypeVar("E", ComponentStatus, Impact, IncidentStatus)


class FileError(Exception):
    """A problem in one incident file, located by line and field."""

    def __init__(self, path: Path, line: int, field_name: str, message: str) -> None:
        super().__init__(f"{path}:{line}: {field_name}: {message}")
        self.path, self.line, self.field, self.message = path, line, field_name, message


@dataclass(frozen=True)
class UpdateEntry:
    """One timeline entry of a file, oldest first."""

    status: IncidentStatus
    at: datetime
    body: str
    components: dict[str, ComponentStatus]
    line: int


@dataclass(frozen=True)
class IncidentFile:
    """A parsed, validated incident file; times are UTC."""

    path: Path
    slug: str
    title: str
    impact: Impact | None
    components: dict[str, ComponentStatus]
    started_at: datetime
    resolved_at: datetime | None
    updates: list[UpdateEntry]
    postmortem_published_at: datetime | None
    postmortem: str
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        """The line a top-level field is on (1 when it isn't in the file)."""
        return self.lines.get(name, 1)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


class _Reader:
    """Turns YAML nodes into checked values, failing with the node's line."""

    def __init__(self, path: Path, first_line: int, tz: tzinfo) -> None:
        self.path, self.offset, self.tz = path, first_line, tz

    def line(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + self.offset

    def fail(self, node: yaml.Node | int, name: str, message: str) -> FileError:
        line = node if isinstance(node, int) else self.line(node)
        return FileError(self.path, line, name, message)

    def mapping(self, node: yaml.Node, name: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, name, "expected a mapping of key: value")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            label = f"{name}.{key.value}" if name else str(key.value)
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, name or "front matter", "keys must be plain text")
            if allowed and key.value not in allowed:
                raise self.fail(key, label, f"unknown field; expected one of {', '.join(allowed)}")
            if key.value in out:
                raise self.fail(key, label, "given twice")
            out[key.value] = value
        return out

    def text(self, node: yaml.Node, name: str, *, limit: int, required: bool = True) -> str:
        if not isinstance(node, yaml.ScalarNode) or (_is_null(node) and required):
            raise self.fail(node, name, "expected text")
        value = "" if _is_null(node) else str(node.value).strip()
        if required and not value:
            raise self.fail(node, name, "must not be empty")
        if len(value) > limit:
            raise self.fail(node, name, f"longer than {limit} characters")
        return value

    def choice(self, node: yaml.Node, name: str, allowed: tuple[E, ...]) -> E:
        value = self.text(node, name, limit=64)
        for option in allowed:
            if option.value == value:
                return option
        raise self.fail(node, name, f"{value!r} is not one of {', '.join(a for a in allowed)}")

    def time(self, node: yaml.Node, name: str) -> datetime:
        value = self.text(node, name, limit=64)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(
                node, name, f"{value!r} is not a time like 2025-09-07 11:12 or ...T11:12:00+02:00"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.tz)  # the page's time zone
        utc = parsed.astimezone(UTC)
        if not EARLIEST <= utc <= LATEST:
            raise self.fail(node, name, "out of range (years 1970-2999)")
        return utc

    def optional_time(self, node: yaml.Node | None, name: str) -> datetime | None:
        if node is None or _is_null(node):
            return None
        return self.time(node, name)

    def statuses(self, node: yaml.Node | None, name: str) -> dict[str, ComponentStatus]:
        if node is None or _is_null(node):
            return {}
        found = self.mapping(node, name, ())
        return {
            key: self.choice(value, f"{name}.{key}", tuple(ComponentStatus))
            for key, value in found.items()
        }


def split_front_matter(path: Path, text: str) -> tuple[str, str]:
    """The YAML between the two `---` lines, and the Markdown after them."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise FileError(path, 1, "front matter", "the file must start with a '---' line")
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() == FENCE:
            return "\n".join(lines[1:number]), "\n".join(lines[number + 1 :])
    raise FileError(path, len(lines), "front matter", "no closing '---' line")


def parse_file(path: Path, text: str, *, tz: tzinfo, now: datetime) -> IncidentFile:
    """Parse and check one incident file; raises FileError naming the line and field."""
    slug = path.stem
    if not SLUG.match(slug):
        raise FileError(path, 1, "file name", "use lowercase letters, digits, '-', '.' and '_'")
    front, body = split_front_matter(path, text)
    r = _Reader(path, 2, tz)
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 2 if mark else 1
        raise FileError(path, line, "front matter", f"invalid YAML: {exc.problem}") from None
    if root is None:
        raise FileError(path, 2, "front matter", "empty; title and updates are required")
    top = r.mapping(root, "", TOP_KEYS)
    lines = {key: r.line(node) for key, node in top.items()}
    for required in ("title", "updates"):
        if required not in top:
            raise FileError(path, 2, required, "missing (required)")
    title = r.text(top["title"], "title", limit=NAME_MAX)
    impact = r.choice(top["impact"], "impact", INCIDENT_IMPACTS) if "impact" in top else None
    components = r.statuses(top.get("components"), "components")
    updates = _updates(r, top["updates"], now)
    started_at = r.optional_time(top.get("started_at"), "started_at") or updates[0].at
    if started_at > updates[0].at:
        raise r.fail(top["started_at"], "started_at", "later than the first update's time")
    resolved_at = r.optional_time(top.get("resolved_at"), "resolved_at")
    first_resolved = next((u for u in updates if u.status == IncidentStatus.resolved), None)
    if resolved_at is not None and first_resolved is None:
        if resolved_at < updates[-1].at:
            raise r.fail(top["resolved_at"], "resolved_at", "earlier than the last update")
        line = lines["resolved_at"]
        updates.append(UpdateEntry(IncidentStatus.resolved, resolved_at, RESOLVED_BODY, {}, line))
    elif resolved_at is not None and first_resolved and first_resolved.at != resolved_at:
        raise r.fail(top["resolved_at"], "resolved_at", "differs from the 'resolved' update's time")
    published_at = None
    if "postmortem" in top:
        pm = r.mapping(top["postmortem"], "postmortem", ("published_at",))
        published_at = r.optional_time(pm.get("published_at"), "postmortem.published_at")
    postmortem = body.strip()
    if len(postmortem) > POSTMORTEM_MAX:
        raise FileError(path, lines.get("postmortem", 1), "postmortem", "too long")
    if published_at is not None:
        where = lines["postmortem"]
        if not postmortem:
            raise FileError(path, where, "postmortem.published_at", "the Markdown body is empty")
        if updates[-1].status != IncidentStatus.resolved:
            raise FileError(path, where, "postmortem.published_at", "the incident isn't resolved")
        if published_at > now:
            raise FileError(path, where, "postmortem.published_at", "in the future")
    return IncidentFile(
        path=path,
        slug=slug,
        title=title,
        impact=impact,
        components=components,
        started_at=started_at,
        resolved_at=resolved_at or (first_resolved.at if first_resolved else None),
        updates=updates,
        postmortem_published_at=published_at,
        postmortem=postmortem,
        lines=lines,
    )


def _updates(r: _Reader, node: yaml.Node, now: datetime) -> list[UpdateEntry]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise r.fail(node, "updates", "expected a list of {status, at, body}, oldest first")
    out: list[UpdateEntry] = []
    for n, item in enumerate(node.value, start=1):
        name = f"updates[{n}]"
        fields = r.mapping(item, name, UPDATE_KEYS)
        for required in ("status", "at", "body"):
            if required not in fields:
                raise r.fail(item, f"{name}.{required}", "missing (required)")
        entry = UpdateEntry(
            status=r.choice(fields["status"], f"{name}.status", UPDATE_STATUSES),
            at=r.time(fields["at"], f"{name}.at"),
            body=r.text(fields["body"], f"{name}.body", limit=BODY_MAX),
            components=r.statuses(fields.get("components"), f"{name}.components"),
            line=r.line(item),
        )
        if entry.at > now:
            raise r.fail(fields["at"], f"{name}.at", "in the future; updates are back-dated only")
        if out and entry.at < out[-1].at:
            raise r.fail(fields["at"], f"{name}.at", "earlier than the update before it")
        if out and out[-1].status == IncidentStatus.resolved != entry.status:
            raise r.fail(fields["status"], f"{name}.status", "only 'resolved' may follow resolved")
        out.append(entry)
    return out


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line text as literal blocks, times left unquoted."""


_Dumper.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def format_time(value: datetime, tz: tzinfo) -> str:
    """A time as the files write it: the page's zone, with its offset."""
    return value.astimezone(tz).isoformat(sep=" ")


def render_file(incident: IncidentFile, tz: tzinfo) -> str:
    """The canonical text of an incident file (what `pharos dump` writes)."""
    front: dict[str, Any] = {"title": incident.title}
    if incident.impact is not None:
        front["impact"] = incident.impact.value
    if incident.components:
        front["components"] = {k: v.value for k, v in sorted(incident.components.items())}
    front["started_at"] = format_time(incident.started_at, tz)
    if incident.resolved_at is not None:
        front["resolved_at"] = format_time(incident.resolved_at, tz)
    front["updates"] = []
    for u in incident.updates:
        entry: dict[str, Any] = {"status": u.status.value, "at": format_time(u.at, tz)}
        entry["body"] = u.body
        if u.components:
            entry["components"] = {k: v.value for k, v in sorted(u.components.items())}
        front["updates"].append(entry)
    if incident.postmortem_published_at is not None:
        front["postmortem"] = {"published_at": format_time(incident.postmortem_published_at, tz)}
    text = yaml.dump(
        front, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    out = f"{FENCE}\n{text}{FENCE}\n"
    return f"{out}\n{incident.postmortem}\n" if incident.postmortem else out

"""`pharos import statuspage --public URL`: what a public Statuspage page shows, without a key.

Components and groups come from /api/v2/summary.json and /api/v2/components.json; incidents
and maintenances from /api/v2/incidents.json and /api/v2/scheduled-maintenances.json (each the
50 most recent), and older incidents from the history feed (/history.atom), which names
them but carries neither update ids nor components nor impact. Subscribers, templates,
postmortems and drafts are not public.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import feedparser
from sqlalchemy.engine import Engine

from app.clock import Clock
from app.config import Settings
from app.importers.job import check_page, import_components, import_incidents, import_session
from app.importers.report import ImportReport
from app.importers.source import SourceError
from app.importers.status_log import sync_status_logs
from app.importers.statuspage_api import StatuspageClient
from app.models import ID_ALPHABET

LABELS = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "postmortem": "postmortem",
}
MAINTENANCE_LABELS = {"scheduled", "in progress", "verifying", "completed"}
MONTHS = {
    m: n
    for n, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# One update in a feed entry: <p><small>Jun <var ...>18</var>, <var ...>18:09</var> UTC</small>
# <br><strong>Resolved</strong> - body</p>
UPDATE = re.compile(
    r"<small>\s*(?P<month>[A-Za-z]{3})\s*(?:<var[^>]*>)?\s*(?P<day>\d{1,2})\s*(?:</var>)?\s*,\s*"
    r"(?:<var[^>]*>)?\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?:</var>)?[^<]*</small>\s*"
    r"(?:<br\s*/?>)?\s*<strong>(?P<label>[^<]+)</strong>\s*-?\s*(?P<body>.*?)(?=<p>\s*<small>|</p>\s*$|$)",
    re.S,
)
INCIDENT_LINK = re.compile(r"/incidents/([A-Za-z0-9]+)/?$")


def derived_id(*parts: str) -> str:
    """A stable 12-character id for something the feed gives no id for."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(ID_ALPHABET[b % 36] for b in digest[:12])


def _text(fragment: str) -> str:
    fragment = re.sub(r"<br\s*/?>", "\n", fragment)
    fragment = re.sub(r"</p>\s*$", "", fragment.strip())
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _when(match: re.Match[str], near: datetime, tz: ZoneInfo) -> datetime:
    """The update's time: the year is the one that puts it nearest the entry's own time."""
    month = MONTHS[match["month"].lower()]
    candidates = []
    for year in (near.year - 1, near.year, near.year + 1):
        try:
            candidates.append(
                datetime(
                    year,
                    month,
                    int(match["day"]),
                    int(match["hour"]),
                    int(match["minute"]),
                    tzinfo=tz,
                )
            )
        except ValueError:  # 29 February
            continue
    return min(candidates, key=lambda t: abs(t - near))


def feed_incident(entry: Any, tz: ZoneInfo) -> dict[str, Any] | None:
    """An incident shaped like a v2 incident from one feed entry (None for a maintenance)."""
    found = INCIDENT_LINK.search(str(entry.get("link", "")))
    parsed = entry.get("updated_parsed") or entry.get("published_parsed")
    if not found or parsed is None:
        return None
    near = datetime(*parsed[:6]).replace(tzinfo=ZoneInfo("UTC"))
    content = entry.get("content") or [{"value": entry.get("summary", "")}]
    matches = list(UPDATE.finditer(str(content[0].get("value", ""))))
    labels = [m["label"].strip().lower() for m in matches]
    if not matches or any(label in MAINTENANCE_LABELS for label in labels):
        return None
    incident_id = found.group(1)
    updates: list[dict[str, Any]] = []
    status = "investigating"
    for n, m in enumerate(reversed(matches)):  # the feed lists them newest first
        status = LABELS.get(m["label"].strip().lower(), status)  # "Update" keeps the status
        at = _when(m, near, tz).isoformat()
        updates.append(
            {
                "id": derived_id(incident_id, str(n)),
                "status": status,
                "body": _text(m["body"]),
                "created_at": at,
                "updated_at": at,
                "display_at": at,
                "affected_components": None,
            }
        )
    first, last = updates[0]["display_at"], updates[-1]["display_at"]
    resolved = [u["display_at"] for u in updates if u["status"] == "resolved"]
    return {
        "id": incident_id,
        "name": html.unescape(str(entry.get("title", ""))),
        "status": status,
        "impact": "none",
        "created_at": first,
        "updated_at": last,
        "started_at": first,
        "resolved_at": resolved[0] if resolved and status in ("resolved", "postmortem") else None,
        "incident_updates": list(reversed(updates)),
    }


def _list(answer: Any, field: str, path: str) -> list[Any]:
    items = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise SourceError(f"GET {path}: no {field!r} list in the answer")
    return items


def import_public_page(
    engine: Engine,
    client: StatuspageClient,
    *,
    settings: Settings,
    clock: Clock,
    dry_run: bool = False,
) -> ImportReport:
    """Import what a public Statuspage page shows; the report says what it could not get."""
    report = ImportReport(source=client.base_url, dry_run=dry_run)
    with import_session(engine, dry_run=dry_run) as session:
        try:
            summary = client.get_json("/api/v2/summary.json")
            page = summary.get("page") if isinstance(summary, dict) else None
            if not isinstance(page, dict) or not page.get("id"):
                raise SourceError(
                    "GET /api/v2/summary.json: no page id: is this a Statuspage page?"
                )
            report.source = source = f"statuspage:{page['id']}"
            check_page(page, settings, report)
            comps = _list(client.get_json("/api/v2/components.json"), "components", "components")
            ids, current, _ = import_components(
                session, comps, [], source=source, now=clock(), report=report
            )
            recent = _list(client.get_json("/api/v2/incidents.json"), "incidents", "incidents")
            maintenances = _list(
                client.get_json("/api/v2/scheduled-maintenances.json"),
                "scheduled_maintenances",
                "scheduled-maintenances",
            )
            older = _from_feed(client, page, {str(i.get("id")) for i in recent}, report)
            import_incidents(
                session,
                [*recent, *maintenances, *older],
                source=source,
                component_ids=ids,
                fetch_postmortem=None,
                now=clock(),
                report=report,
            )
            sync_status_logs(
                session,
                source=source,
                current=current,
                tz=settings.tz,
                now=clock(),
                report=report,
                checkpoint=session.commit,
            )
        except SourceError as exc:
            session.rollback()
            report.error = exc.message
    report.notes.append(
        "a public page does not show subscribers, incident templates, postmortems or drafts; "
        "import with --page-id and an API key to bring those over"
    )
    return report


def _from_feed(
    client: StatuspageClient, page: dict[str, Any], known: set[str], report: ImportReport
) -> list[dict[str, Any]]:
    """Incidents only the history feed still names (older than incidents.json reaches)."""
    try:
        tz = ZoneInfo(str(page.get("time_zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    response = client.fetch("/history.atom", missing_ok=True)
    if response is None:
        report.notes.append("the page has no history feed: only the 50 newest incidents came over")
        return []
    feed = feedparser.parse(response.content)
    out, maintenances = [], 0
    for entry in feed.entries:
        found = INCIDENT_LINK.search(str(entry.get("link", "")))
        if not found or found.group(1) in known:
            continue
        incident = feed_incident(entry, tz)
        if incident is None:
            maintenances += 1
            continue
        out.append(incident)
    if out:
        report.notes.append(
            f"{len(out)} older incident(s) came from the history feed: times to the minute, "
            "no components or impact, update ids made up"
        )
    if maintenances:
        report.skip("maintenance", f"({maintenances} in the feed)", "the feed has no window")
    oldest = min((e.get("updated", "") for e in feed.entries), default="")
    report.notes.append(
        "history older than the feed reaches could not be read"
        + (f" (its oldest entry: {oldest})" if oldest else "")
    )
    return out

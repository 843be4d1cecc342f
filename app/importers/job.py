"""`pharos import statuspage --page-id`: a whole page from Statuspage's management API (v1).

Order: components and groups, incidents and maintenances (oldest first, each with its
postmortem), the component status logs replayed from them, incident templates, subscribers,
and last a check of the uptime Pharos now computes against Statuspage's own figures.

This is the edge of the use case: it commits once per imported object, so a failure midway
(the network, a rate limit that does not end) keeps everything imported before it whole, and
a re-run finishes the job: objects whose source did not change are skipped. A dry run does the
same work inside one transaction and rolls it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.clock import Clock
from app.config import Settings
from app.db import session_factory
from app.importers import components as component_import
from app.importers import incidents as incident_import
from app.importers import keys
from app.importers.report import ImportReport
from app.importers.source import (
    SourceComponent,
    SourceError,
    SourceIncident,
    SourcePostmortem,
    digest,
    parse,
)
from app.importers.status_log import sync_status_logs
from app.importers.statuspage_api import StatuspageClient
from app.importers.subscribers import import_subscribers
from app.importers.templates import import_templates
from app.importers.uptime_check import check_uptime

FetchPostmortem = Callable[[str], Any]


@contextmanager
def import_session(engine: Engine, *, dry_run: bool) -> Iterator[Session]:
    """A session whose commits are real, or (dry run) savepoints of one rolled-back transaction.

    Real commits move the data version like any other writer's (the render caches re-render,
    a wide incident prepared meanwhile is made again under the lock)."""
    if not dry_run:
        with session_factory(engine)() as session:
            yield session
        return
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


def check_page(page: Any, settings: Settings, report: ImportReport) -> None:
    """Notes when the source page's name or time zone differ from this Pharos's settings."""
    if not isinstance(page, dict):
        return
    zone, name = page.get("time_zone"), page.get("name")
    if zone and zone != settings.timezone:
        report.notes.append(
            f"the Statuspage page shows times in {zone}, this Pharos in {settings.timezone}; "
            f"set PHAROS_TIMEZONE={zone} (then `pharos rebuild-uptime`) to show the same days"
        )
    if name and name != settings.page_name:
        report.notes.append(f"the page is called {name!r} there; set PHAROS_PAGE_NAME to match")


def import_components(
    session: Session,
    comps: list[Any],
    groups: list[Any],
    *,
    source: str,
    now: datetime,
    report: ImportReport,
) -> tuple[dict[str, str], dict[str, SourceComponent], list[SourceComponent]]:
    """Components and groups: source id -> Pharos id, the source's statuses by Pharos id, and
    every source component."""
    rows = component_import.merge_groups(comps, groups)
    ids = component_import.import_components(
        session, rows, source=source, now=now, report=report, checkpoint=session.commit
    )
    current = {ids[c.id]: c for c in component_import.source_statuses(rows).values() if c.id in ids}
    return ids, current, [c for c, _ in rows]


def _first_time(incident: SourceIncident) -> datetime:
    return min((u.shown_at for u in incident.incident_updates), default=incident.created_at)


def import_incidents(
    session: Session,
    raws: list[Any],
    *,
    source: str,
    component_ids: dict[str, str],
    fetch_postmortem: FetchPostmortem | None,
    now: datetime,
    report: ImportReport,
) -> None:
    """Every incident and maintenance, oldest first, one commit each; unchanged ones skipped."""
    parsed: list[tuple[SourceIncident, Any]] = []
    for raw in raws:
        try:
            parsed.append((parse(SourceIncident, raw, "incident"), raw))
        except SourceError as exc:
            report.skip("incident", "", exc.message)
    for src, raw in sorted(parsed, key=lambda p: (_first_time(p[0]), p[0].id)):
        # Not the embedded components: they are today's, not the incident's history.
        fingerprint = digest({k: v for k, v in raw.items() if k != "components"})
        if incident_import.unchanged(session, source, src, fingerprint):
            report.count(incident_import.kind_of(src), "unchanged")
            continue
        # No transaction stays open across a request (on SQLite it would hold the write lock
        # that a `pharos serve` beside the import needs).
        session.commit()
        postmortem = None
        if fetch_postmortem is not None and src.may_have_postmortem:
            found = fetch_postmortem(src.id)
            if found:
                postmortem = parse(SourcePostmortem, found, f"postmortem of incident {src.id}")
        incident_import.write_incident(
            session,
            src,
            postmortem=postmortem,
            component_ids=component_ids,
            fingerprint=fingerprint,
            source=source,
            now=now,
            report=report,
        )
        session.commit()
    session.commit()


def _union(*lists: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for items in lists:
        for item in items:
            if isinstance(item, dict):
                seen.setdefault(str(item.get("id")), item)
    return list(seen.values())


def import_statuspage(
    engine: Engine,
    client: StatuspageClient,
    *,
    page_id: str,
    settings: Settings,
    clock: Clock,
    dry_run: bool = False,
) -> ImportReport:
    """Import one Statuspage page through its management API; the report says what happened."""
    source = f"statuspage:{page_id}"
    report = ImportReport(source=source, dry_run=dry_run)
    base = f"/pages/{page_id}"
    with import_session(engine, dry_run=dry_run) as session:
        try:
            check_page(client.get_json(base), settings, report)
            groups = client.all(f"{base}/component-groups")
            ids, current, everything = import_components(
                session,
                client.all(f"{base}/components"),
                groups,
                source=source,
                now=clock(),
                report=report,
            )
            raws = _union(
                client.all(f"{base}/incidents", size_param="limit"),
                client.all(f"{base}/incidents/scheduled"),
            )
            import_incidents(
                session,
                raws,
                source=source,
                component_ids=ids,
                fetch_postmortem=lambda i: client.get_json(
                    f"{base}/incidents/{i}/postmortem", missing_ok=True
                ),
                now=clock(),
                report=report,
            )
            note_gone(session, source, raws, report)
            sync_status_logs(
                session,
                source=source,
                current=current,
                tz=settings.tz,
                now=clock(),
                report=report,
                checkpoint=session.commit,
            )
            import_templates(
                session,
                client.all(f"{base}/incident_templates"),
                source=source,
                component_ids=ids,
                now=clock(),
                report=report,
                checkpoint=session.commit,
            )
            subscribers = [
                item
                for state in ("active", "quarantined")
                for item in client.all(
                    f"{base}/subscribers", {"state": state}, size_param="limit", first_page=0
                )
            ]
            import_subscribers(
                session,
                subscribers,
                source=source,
                component_ids=ids,
                allow_private=settings.webhook_allow_private,
                now=clock(),
                report=report,
                checkpoint=session.commit,
            )
            check_uptime(
                session,
                client,
                base,
                everything,
                ids,
                settings,
                clock(),
                report,
                checkpoint=session.commit,
            )
        except SourceError as exc:
            session.rollback()
            report.error = exc.message
    return report


def note_gone(session: Session, source: str, raws: list[Any], report: ImportReport) -> None:
    """Say which incidents imported earlier the source no longer lists (they are kept)."""
    listed = {str(r.get("id")) for r in raws if isinstance(r, dict)}
    gone = sorted(
        k.external_id
        for k in keys.keys_of(session, source, incident_import.KINDS)
        if k.external_id not in listed
    )
    if gone:
        report.notes.append(
            f"{len(gone)} incident(s) imported earlier are no longer on the source and were "
            f"kept: {', '.join(gone[:10])}{' ...' if len(gone) > 10 else ''}"
        )

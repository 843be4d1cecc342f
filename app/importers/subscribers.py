"""Importing subscribers: webhooks through the subscriber service, email addresses as
confirmed email subscribers (they confirmed on Statuspage), both with their component filter.

Subscribers of channels Pharos has no equivalent for (SMS; Slack and Teams app installs, which
are workspace OAuth grants, not webhook URLs) are counted in the report and left on the source:
they are not stored here, so no address waits in a table nothing reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.errors import PharosError
from app.importers import keys
from app.importers.keys import Checkpoint
from app.importers.report import ImportReport, Secret
from app.importers.source import SourceError, SourceSubscriber, digest, parse
from app.models import Subscriber
from app.subscribers import people
from app.subscribers import service as subscribers
from app.subscribers.schemas import SubscriberCreate

KIND = "subscriber"
ACTOR = "import:statuspage"


def import_subscribers(
    session: Session,
    raws: list[Any],
    *,
    source: str,
    component_ids: dict[str, str],
    allow_private: bool,
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """Subscribe each webhook (one commit each); a new secret per subscriber, shown once."""
    for raw in raws:
        try:
            s = parse(SourceSubscriber, raw, KIND)
        except SourceError as exc:
            report.skip(KIND, "?", exc.message)
            continue
        mode = (s.mode or "").lower()
        if mode == "email" and s.email:
            _email(
                session,
                s,
                raw,
                source=source,
                component_ids=component_ids,
                now=now,
                report=report,
                checkpoint=checkpoint,
            )
            continue
        if mode != "webhook" or not s.endpoint:
            report.skip(
                KIND, f"{s.id} ({mode or 'unknown'})", "not imported: channel not available yet"
            )
            continue
        key = keys.find(session, source, KIND, s.id)
        existing = session.get(Subscriber, key.pharos_id) if key else None
        wanted = [component_ids[c] for c in s.components or [] if c in component_ids] or None
        if existing is not None:
            _refresh(
                session,
                existing,
                s,
                wanted,
                key_digest=key.digest if key else "",
                raw=raw,
                source=source,
                now=now,
                report=report,
                checkpoint=checkpoint,
            )
            continue
        try:
            data = SubscriberCreate(url=s.endpoint, email=s.email or None, component_ids=wanted)
        except ValidationError:
            data = SubscriberCreate(url=s.endpoint, component_ids=wanted)
        try:
            created, secret = subscribers.subscribe(
                session, data=data, allow_private=allow_private, actor=ACTOR, now=now
            )
        except (PharosError, ValidationError) as exc:
            session.rollback()
            why = exc.message if isinstance(exc, PharosError) else str(exc)
            report.skip(KIND, s.endpoint, why)
            continue
        if s.quarantined_at is not None:
            subscribers.quarantine(session, created.id, actor=ACTOR, now=now)
        keys.remember(session, source, KIND, s.id, created.id, digest(raw), now=now)
        report.secrets.append(Secret(url=created.url, secret=secret))
        report.count(KIND, "created", f"create webhook subscriber {created.url}")
        checkpoint()
    checkpoint()  # the reads too: no transaction stays open for the next request


def _email(
    session: Session,
    s: SourceSubscriber,
    raw: Any,
    *,
    source: str,
    component_ids: dict[str, str],
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """An email subscriber, added as confirmed; a re-run follows its component filter."""
    assert s.email is not None
    key = keys.find(session, source, KIND, s.id)
    existing = session.get(Subscriber, key.pharos_id) if key else None
    wanted = [component_ids[c] for c in s.components or [] if c in component_ids] or None
    if existing is not None:
        _refresh(
            session,
            existing,
            s,
            wanted,
            key_digest=key.digest if key else "",
            raw=raw,
            source=source,
            now=now,
            report=report,
            checkpoint=checkpoint,
        )
        return
    try:
        created = people.add_email(
            session, address=s.email, component_ids=wanted, actor=ACTOR, now=now
        )
    except PharosError as exc:
        session.rollback()
        report.skip(KIND, f"{s.id} (email)", exc.message)
        return
    keys.remember(session, source, KIND, s.id, created.id, digest(raw), now=now)
    report.count(KIND, "created", f"create email subscriber {created.email}")
    checkpoint()


def _refresh(
    session: Session,
    existing: Subscriber,
    s: SourceSubscriber,
    wanted: list[str] | None,
    *,
    key_digest: str,
    raw: Any,
    source: str,
    now: datetime,
    report: ImportReport,
    checkpoint: Checkpoint,
) -> None:
    """An imported subscriber again: it keeps its secret and its delivery state here, and
    follows the source's component filter."""
    fingerprint = digest(raw)
    if key_digest == fingerprint:
        report.count(KIND, "unchanged")
        return
    existing.component_ids = sorted(wanted) if wanted else None
    existing.updated_at = now
    session.add(existing)
    keys.remember(session, source, KIND, s.id, existing.id, fingerprint, now=now)
    what = (
        f"email subscriber {existing.email}"
        if existing.email and existing.url.startswith("mailto:")
        else f"webhook subscriber {existing.url}"
    )
    report.count(KIND, "updated", f"update {what}")
    checkpoint()

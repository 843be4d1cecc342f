"""Subscribers who are people: email (double opt-in, follow one incident, staff import and
CSV) and chat apps' incoming webhooks (a test message on subscribe)."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.db import read_beside
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.models import (
    Component,
    Incident,
    IncidentStatus,
    Subscriber,
    SubscriberChannel,
    SubscriberStatus,
)
from app.notifications import chat, messages, outbox, targets, webhooks
from app.notifications.webhooks import Outcome

CONFIRM_WITHIN = timedelta(hours=48)  # unconfirmed addresses are forgotten after this
RESEND_AFTER = timedelta(minutes=15)  # subscribing again within this sends no new confirmation
CLOSED = (IncidentStatus.resolved, IncidentStatus.postmortem, IncidentStatus.completed)


def normalize_address(value: str) -> str:
    """An email address checked for shape (no DNS lookup) and normalized, or InvalidInput."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"email address refused: {exc}") from exc
    return checked.normalized.lower()


def mailto(address: str, incident_id: str | None = None) -> str:
    """The unique target of an email subscription (a page or one incident)."""
    target = f"mailto:{quote(address, safe='@+')}"
    return f"{target}?incident={incident_id}" if incident_id else target


def component_filter(session: Session, component_ids: list[str] | None) -> list[str] | None:
    """The sorted component filter, or None for everything; InvalidInput for unknown ids."""
    if not component_ids:
        return None
    wanted = sorted(set(component_ids))
    known = set(session.exec(select(Component.id).where(col(Component.id).in_(wanted))))
    missing = [i for i in wanted if i not in known]
    if missing:
        raise InvalidInput(f"unknown component id(s): {', '.join(missing)}")
    return wanted


def _what(session: Session, subscriber: Subscriber) -> str:
    """What a subscription covers, in words: for the confirmation message."""
    if subscriber.incident_id:
        incident = session.get(Incident, subscriber.incident_id)
        if incident is None:
            return _("one incident")
        return _("the incident “%(name)s”") % {"name": incident.name}
    if not subscriber.component_ids:
        return _("every component")
    names = session.exec(
        select(Component.name).where(col(Component.id).in_(subscriber.component_ids))
    )
    return _("components: %(names)s") % {"names": ", ".join(sorted(names))}


def purge_expired(session: Session, *, now: datetime) -> int:
    """Forget email addresses never confirmed within 48 hours; returns how many."""
    result = session.execute(
        sa.delete(Subscriber)
        .where(col(Subscriber.status) == SubscriberStatus.pending)
        .where(col(Subscriber.created_at) < now - CONFIRM_WITHIN)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _new(
    *,
    channel: SubscriberChannel,
    url: str,
    status: SubscriberStatus,
    component_ids: list[str] | None,
    now: datetime,
    email: str | None = None,
    incident_id: str | None = None,
) -> Subscriber:
    return Subscriber(
        channel=channel,
        url=url,
        email=email,
        secret=webhooks.new_secret(),
        component_ids=component_ids,
        status=status,
        unsubscribe_token=secrets.token_urlsafe(24),
        incident_id=incident_id,
        confirmed_at=now if status == SubscriberStatus.active else None,
        created_at=now,
        updated_at=now,
    )


def _add(session: Session, subscriber: Subscriber, what: str) -> None:
    try:
        with session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
            session.add(subscriber)
    except sa.exc.IntegrityError as exc:
        raise Conflict(f"{what} is already subscribed") from exc


def _send_confirmation(session: Session, subscriber: Subscriber, *, now: datetime) -> None:
    # The link is made when the message is sent: signed with the key of that moment.
    outbox.emit_to(
        session,
        subscriber.id,
        event_type=messages.CONFIRMATION,
        payload={"what": _what(session, subscriber)},
        now=now,
    )
    subscriber.confirmation_sent_at = now


def subscribe_email(
    session: Session,
    *,
    address: str,
    component_ids: list[str] | None,
    incident_id: str | None,
    language: str | None = None,
    now: datetime,
) -> Subscriber:
    """Ask an address to confirm (double opt-in); only the confirmation is sent until then.

    `language` is the page language they subscribed from: every message is written in it.

    Subscribing an address again answers the same, and sends a new confirmation only when
    the last one is older than RESEND_AFTER (a confirmed address gets nothing new).
    """
    purge_expired(session, now=now)
    address = normalize_address(address)
    wanted = component_filter(session, component_ids)
    if incident_id is not None:
        incident = session.get(Incident, incident_id)
        if incident is None or incident.backfilled:
            raise NotFound(f"incident {incident_id!r} does not exist")
        if incident.status in CLOSED:
            raise Conflict("this incident is over; subscribe to the page instead")
        wanted = None
    url = mailto(address, incident_id)
    existing = session.exec(select(Subscriber).where(Subscriber.url == url)).first()
    if existing is not None:
        if existing.status == SubscriberStatus.pending:
            existing.component_ids = wanted
            existing.language = language
            existing.updated_at = now
            sent = existing.confirmation_sent_at
            if sent is None or now - sent >= RESEND_AFTER:
                _send_confirmation(session, existing, now=now)
            session.add(existing)
        return existing
    subscriber = _new(
        channel=SubscriberChannel.email,
        url=url,
        email=address,
        status=SubscriberStatus.pending,
        component_ids=wanted,
        incident_id=incident_id,
        now=now,
    )
    subscriber.language = language
    _add(session, subscriber, "this address")
    _send_confirmation(session, subscriber, now=now)
    audit.record(
        session,
        "public form",
        "subscriber.requested",
        subscriber.id,
        at=now,
        data={"channel": "email", "component_ids": wanted, "incident_id": incident_id},
    )
    return subscriber


def confirm(session: Session, subscriber: Subscriber, *, now: datetime) -> Subscriber | None:
    """Follow the confirmation link: the address hears from now on. None when the link has
    expired (the address is forgotten then: the caller commits that and says so)."""
    if subscriber.status != SubscriberStatus.pending:
        return subscriber  # followed twice: nothing more to do
    if now - subscriber.created_at > CONFIRM_WITHIN:
        session.delete(subscriber)
        return None
    subscriber.status = SubscriberStatus.active
    subscriber.confirmed_at = now
    subscriber.updated_at = now
    session.add(subscriber)
    audit.record(session, "subscriber", "subscriber.confirmed", subscriber.id, at=now)
    return subscriber


def set_components(
    session: Session, subscriber: Subscriber, component_ids: list[str] | None, *, now: datetime
) -> Subscriber:
    """The manage page: change which components a subscriber hears about."""
    subscriber.component_ids = component_filter(session, component_ids)
    subscriber.updated_at = now
    session.add(subscriber)
    audit.record(
        session,
        "subscriber",
        "subscriber.changed",
        subscriber.id,
        at=now,
        data={"component_ids": subscriber.component_ids},
    )
    return subscriber


# Staff


def add_email(
    session: Session,
    *,
    address: str,
    component_ids: list[str] | None,
    actor: str,
    now: datetime,
) -> Subscriber:
    """Staff add an address without confirmation (they vouch for it, as an import does)."""
    address = normalize_address(address)
    subscriber = _new(
        channel=SubscriberChannel.email,
        url=mailto(address),
        email=address,
        status=SubscriberStatus.active,
        component_ids=component_filter(session, component_ids),
        now=now,
    )
    _add(session, subscriber, address)
    audit.record(
        session,
        actor,
        "subscriber.created",
        subscriber.id,
        at=now,
        data={"channel": "email", "component_ids": subscriber.component_ids},
    )
    return subscriber


def list_email(session: Session, *, now: datetime) -> list[Subscriber]:
    """Email subscribers (page-wide and per incident), oldest first; expired ones purged."""
    purge_expired(session, now=now)
    return list(
        session.exec(
            select(Subscriber)
            .where(Subscriber.channel == SubscriberChannel.email)
            .order_by(col(Subscriber.created_at), col(Subscriber.id))
        )
    )


CSV_FIELDS = ["email", "status", "component_ids", "incident_id", "created_at", "confirmed_at"]


def export_csv(subscribers: list[Subscriber]) -> str:
    """Email subscribers as CSV (component ids separated by spaces)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for s in subscribers:
        writer.writerow(
            {
                "email": s.email,
                "status": s.status.value,
                "component_ids": " ".join(s.component_ids or []),
                "incident_id": s.incident_id or "",
                "created_at": s.created_at.isoformat(),
                "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else "",
            }
        )
    return out.getvalue()


@dataclass
class CsvImport:
    """What an import did."""

    added: int = 0
    already: int = 0
    errors: list[str] = field(default_factory=list)


MAX_IMPORT_ROWS = 100_000


def import_csv(session: Session, text: str, *, actor: str, now: datetime) -> CsvImport:
    """Add the addresses of a CSV (an `email` column, optional `component_ids`) as confirmed.

    All or nothing: with any bad row nothing is added and every error is reported.
    """
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "email" not in [f.strip() for f in reader.fieldnames]:
        raise InvalidInput("the CSV needs a header row with an `email` column")
    result = CsvImport()
    known = set(session.exec(select(Subscriber.url).where(col(Subscriber.url).like("mailto:%"))))
    components = set(session.exec(select(Component.id)))
    rows: list[tuple[str, list[str] | None]] = []
    for line, row in enumerate(reader, start=2):
        if line > MAX_IMPORT_ROWS + 1:
            raise InvalidInput(f"at most {MAX_IMPORT_ROWS} rows per import")
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        try:
            address = normalize_address(row.get("email", ""))
        except InvalidInput as exc:
            result.errors.append(f"line {line}: {exc.message}")
            continue
        ids = (row.get("component_ids") or "").split()
        unknown = [i for i in ids if i not in components]
        if unknown:
            result.errors.append(f"line {line}: unknown component id(s) {', '.join(unknown)}")
            continue
        if mailto(address) in known:
            result.already += 1
            continue
        known.add(mailto(address))
        rows.append((address, sorted(set(ids)) or None))
    if result.errors:
        raise InvalidInput("; ".join(result.errors[:20]))
    for address, ids in rows:
        session.add(
            _new(
                channel=SubscriberChannel.email,
                url=mailto(address),
                email=address,
                status=SubscriberStatus.active,
                component_ids=ids,
                now=now,
            )
        )
        result.added += 1
    audit.record(
        session,
        actor,
        "subscriber.imported",
        "email",
        at=now,
        data={"added": result.added, "already": result.already},
    )
    return result


# Chat


TestSender = Callable[[SubscriberChannel, str], Outcome]


def subscribe_chat(
    session: Session,
    *,
    url: str,
    app: SubscriberChannel | None,
    component_ids: list[str] | None,
    allow_private: bool,
    send_test: TestSender,
    actor: str,
    now: datetime,
) -> Subscriber:
    """Subscribe a chat app's incoming webhook; active only once it accepts a test message."""
    url = url.strip()
    try:
        targets.check_target(url, allow_private=allow_private)
    except targets.UnsafeTarget as exc:
        raise InvalidInput(f"webhook URL refused: {exc}") from exc
    app = app or chat.recognise(url)
    if app is None or app not in chat.CHAT_APPS:
        raise InvalidInput("pick the chat app this webhook URL belongs to")
    # The chat app has seconds to accept the test message: what the database says is read
    # without opening the request's write transaction (on SQLite, every writer's lock), so no
    # one waits with us. The insert below still refuses a URL subscribed meanwhile.
    with read_beside(session) as reading:
        wanted = component_filter(reading, component_ids)
        if reading.exec(select(Subscriber.id).where(Subscriber.url == url)).first():
            raise Conflict("this webhook URL is already subscribed")
    outcome = send_test(app, url)
    if not outcome.ok:
        raise InvalidInput(
            f"{chat.APP_NAMES[app]} did not accept the test message "
            f"({outcome.error or outcome.status_code}); check the webhook URL"
        )
    subscriber = _new(
        channel=app,
        url=url,
        status=SubscriberStatus.active,
        component_ids=wanted,
        now=now,
    )
    subscriber.last_success_at = now
    _add(session, subscriber, "this webhook URL")
    audit.record(
        session,
        actor,
        "subscriber.created",
        subscriber.id,
        at=now,
        data={"channel": app.value, "component_ids": wanted},
    )
    return subscriber

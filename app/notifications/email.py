"""Subscriber email: the messages (multipart text + HTML, threaded, one-click unsubscribe) and
the SMTP relay they go through (aiosmtplib, a few connections kept open per worker)."""

from __future__ import annotations

import asyncio
import binascii
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
import jinja2

from app import i18n
from app.notifications.messages import EventView, page_status
from app.notifications.webhooks import ERROR_LIMIT, Outcome
from app.publishing.markdown import render_markdown

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = render_markdown
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["current_language"] = i18n.current
    return env


@dataclass(frozen=True)
class Links:
    """Where a recipient acts: the incident, their settings, one-click unsubscribe."""

    manage: str
    unsubscribe: str


def mailbox(mailto: str) -> str:
    """The address of a subscriber's `mailto:` target (without `?incident=...`)."""
    return unquote(mailto.removeprefix("mailto:").split("?", 1)[0])


def _domain(public_url: str) -> str:
    return urlsplit(public_url).hostname or "pharos.invalid"


def thread_id(incident_id: str, subscriber_id: str, public_url: str) -> str:
    """The Message-ID every message about one incident refers to, so they thread together."""
    return f"<incident.{incident_id}.{subscriber_id}@{_domain(public_url)}>"


def _base(*, mail_from: str, to: str, subject: str, public_url: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message["X-Auto-Response-Suppress"] = "All"
    message["List-Id"] = f"<status.{_domain(public_url)}>"
    return message


# Stand-ins for a recipient's own links while an event's words are rendered once for all.
MANAGE_LINK = "https://pharos.invalid/manage-link"
UNSUBSCRIBE_LINK = "https://pharos.invalid/unsubscribe-link"
CRLF = "\r\n"


@dataclass(frozen=True)
class EventMail:
    """One event's message, rendered once and addressed to each recipient cheaply (a fan-out
    to thousands builds no MIME tree per recipient)."""

    view: EventView
    subject: str  # the header value, RFC 2047-encoded and folded when needed
    text: str  # with MANAGE_LINK / UNSUBSCRIBE_LINK where the recipient's links go
    html: str
    boundary: str


def _header(value: str, name: str) -> str:
    charset = "us-ascii" if value.isascii() else "utf-8"
    folded = Header(value, charset, header_name=name).encode(maxlinelen=78)
    return folded.replace("\n", CRLF)


def render_event(view: EventView) -> EventMail:
    """Render an event's text and HTML once (Jinja, Markdown) for every recipient."""
    context = {"view": view, "links": Links(manage=MANAGE_LINK, unsubscribe=UNSUBSCRIBE_LINK)}
    return EventMail(
        view=view,
        subject=_header(view.subject, "Subject"),
        text=_templates().get_template("event.txt").render(context),
        html=_templates().get_template("event.html").render(context),
        boundary=f"==pharos-{secrets.token_hex(12)}",
    )


def _qp(text: str) -> str:
    normalized = text.replace("\r\n", "\n").replace("\n", CRLF).encode()
    return binascii.b2a_qp(normalized, istext=True).decode("ascii")


def event_message(
    mail: EventMail,
    *,
    to: str,
    mail_from: str,
    delivery_id: str,
    subscriber_id: str,
    public_url: str,
    links: Links,
) -> bytes:
    """One incident or maintenance event for one recipient, as the bytes sent: multipart
    text + HTML (quoted-printable UTF-8), threaded, with RFC 8058 one-click unsubscribe."""
    view = mail.view
    domain = _domain(public_url)
    root = thread_id(view.incident_id, subscriber_id, public_url)
    headers = [
        ("From", _from_header(mail_from)),
        ("To", to),
        ("Subject", mail.subject),
        ("Date", format_datetime(datetime.now(UTC))),
    ]
    if view.event_type in ("incident.created", "maintenance.scheduled"):
        headers.append(("Message-ID", root))
    else:
        headers += [
            ("Message-ID", f"<{delivery_id}.{subscriber_id}@{domain}>"),
            ("In-Reply-To", root),
            ("References", root),
        ]
    headers += [
        # RFC 2369 + RFC 8058: one click in the mail client unsubscribes, without a page.
        ("List-Unsubscribe", f"<{links.unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("List-Id", f"<status.{domain}>"),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no vacation replies, please
        ("X-Auto-Response-Suppress", "All"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{mail.boundary}"'),
    ]

    def personal(text: str) -> str:
        return text.replace(MANAGE_LINK, links.manage).replace(UNSUBSCRIBE_LINK, links.unsubscribe)

    part_headers = 'Content-Type: text/{kind}; charset="utf-8"' + CRLF
    part_headers += "Content-Transfer-Encoding: quoted-printable" + CRLF + CRLF
    body = [
        f"--{mail.boundary}{CRLF}{part_headers.format(kind='plain')}{_qp(personal(mail.text))}",
        f"--{mail.boundary}{CRLF}{part_headers.format(kind='html')}{_qp(personal(mail.html))}",
        f"--{mail.boundary}--{CRLF}",
    ]
    head = CRLF.join(f"{name}: {value}" for name, value in headers)
    return (head + CRLF + CRLF + CRLF.join(body)).encode("ascii")


@lru_cache(maxsize=64)
def _from_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return formataddr((name, address), charset="utf-8") if name else address


def confirmation_message(
    *,
    page_name: str,
    to: str,
    mail_from: str,
    public_url: str,
    confirm_url: str,
    what: str,
) -> EmailMessage:
    """The one message sent before an address is confirmed: the link that confirms it."""
    subject = f"[{page_status(page_name)}] {i18n.gettext('Confirm your subscription')}"
    message = _base(mail_from=mail_from, to=to, subject=subject, public_url=public_url)
    message["Message-ID"] = f"<confirm.{time.time_ns()}@{_domain(public_url)}>"
    context = {"page_name": page_name, "confirm_url": confirm_url, "what": what}
    message.set_content(_templates().get_template("confirm.txt").render(context))
    message.add_alternative(
        _templates().get_template("confirm.html").render(context), subtype="html"
    )
    return message


def sender_address(mail_from: str) -> str:
    """The bare address of PHAROS_MAIL_FROM (for the envelope)."""
    return parseaddr(mail_from)[1] or mail_from


def display_from(page_name: str, mail_from: str) -> str:
    """PHAROS_MAIL_FROM as given, or "<Page> Status <address>" when it is a bare address."""
    name, address = parseaddr(mail_from)
    if name:
        return mail_from
    return formataddr((f"{page_name} Status", address)) if address else mail_from


def valid_address(value: str) -> bool:
    """True when the header library accepts it as one address."""
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError):
        return False
    return True


@dataclass(frozen=True)
class RelayConfig:
    """Where and how to reach the mail relay, from PHAROS_SMTP_URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    timeout: float

    @classmethod
    def from_url(cls, url: str, *, timeout: float) -> RelayConfig:
        """smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS)."""
        parts = urlsplit(url)
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            timeout=timeout,
        )


class Mailer:
    """Sends messages through the relay over a few connections kept open and reused."""

    def __init__(self, config: RelayConfig, *, connections: int) -> None:
        self.config = config
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(connections):
            self._idle.put_nowait(None)  # opened on first use

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.implicit_tls,
            # smtp://: STARTTLS whenever the relay offers it, and always before a password.
            start_tls=None if c.implicit_tls or c.username is None else True,
            timeout=c.timeout,
        )

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str) -> Outcome:
        """Send one message to one recipient; never raises for SMTP or network trouble.

        The outcome's status_code is the SMTP reply code (250 on success; 4xx temporary,
        5xx permanent refusals), None when the relay could not be reached.
        """
        client = await self._idle.get()
        started = time.perf_counter()
        try:
            for fresh in (False, True):
                if client is None or not client.is_connected:
                    client = self._client()
                    await client.connect()
                try:
                    if isinstance(message, bytes):
                        await client.sendmail(sender, [recipient], message)
                    else:
                        await client.send_message(message, sender=sender, recipients=[recipient])
                    return _outcome(250, started, None)
                except aiosmtplib.SMTPServerDisconnected:
                    client = None  # a kept connection the relay closed: open one and retry
                    if fresh:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await _reset(client)
            (refusal,) = exc.recipients
            return _outcome(refusal.code, started, f"{refusal.code} {refusal.message}")
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            return _outcome(exc.code, started, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client = None
            return _outcome(None, started, f"{type(exc).__name__}: {exc}")
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()


async def _reset(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        try:
            await client.rset()
        except aiosmtplib.SMTPException:
            client.close()


def _outcome(code: int | None, started: float, error: str | None) -> Outcome:
    latency = int((time.perf_counter() - started) * 1000)
    return Outcome(
        status_code=code, latency_ms=latency, error=error[:ERROR_LIMIT] if error else None
    )

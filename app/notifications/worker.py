"""The webhook delivery worker: claim due deliveries, send them concurrently, settle them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import Engine

from app import i18n
from app.clock import utcnow
from app.config import Settings
from app.db import unit_of_work
from app.models import SubscriberChannel
from app.notifications import chat, email, links, messages, outbound, outbox, webhooks
from app.workers import Heartbeat

log = logging.getLogger("pharos.webhooks")
RENDERED_KEPT = 32  # events whose rendered email is kept for the rest of their fan-out
# An event a channel has no words for (never queued for it; kept as done if it ever is).
NOTHING_TO_SAY = webhooks.Outcome(status_code=204, latency_ms=0, error=None)
BATCH = 500  # deliveries claimed per round
SETTLE_WINDOW = 0.02  # seconds to let more sends finish before settling a batch


class DeliveryWorker:
    """Sends webhook deliveries; run() loops until cancelled, heartbeating every round."""

    name = "webhooks"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: DeliveryCounters | None = None,
        mailer: email.Mailer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self._client = client
        self._limit = asyncio.Semaphore(settings.webhook_concurrency)
        self.mailer = mailer
        self._mails: dict[tuple[int, str], email.EventMail] = {}
        self._chats: dict[tuple[int, SubscriberChannel], bytes] = {}
        self._link_key: bytes | None = None
        if mailer is None and settings.email_enabled and settings.smtp_url is not None:
            self.mailer = email.Mailer(
                email.RelayConfig.from_url(
                    settings.smtp_url.get_secret_value(), timeout=settings.smtp_timeout_seconds
                ),
                connections=settings.smtp_concurrency,
            )

    def _claim(self, limit: int = BATCH) -> list[outbox.Job]:
        with unit_of_work(self.engine) as session:
            if self._link_key is None:
                self._link_key = links.key(session, self.settings)
            return outbox.claim_due(
                session,
                now=self.clock(),
                limit=limit,
                lease=timedelta(seconds=self.settings.webhook_lease_seconds),
                public_url=self.settings.public_url,
                link_key=self._link_key,
            )

    def _settle(self, results: list[tuple[outbox.Job, webhooks.Outcome]]) -> None:
        with unit_of_work(self.engine) as session:
            outbox.settle(session, results, now=self.clock())
        if self.metrics is not None:
            self.metrics.count([outcome for _, outcome in results])

    async def _send_one(self, client: httpx.AsyncClient, job: outbox.Job) -> webhooks.Outcome:
        try:
            outcome = await self._attempt(client, job)
        except Exception as exc:  # one odd URL or receiver must not sink its whole batch
            log.warning("delivery %s failed unexpectedly", job.delivery_id, exc_info=True)
            message = f"{type(exc).__name__}: {exc}"[: webhooks.ERROR_LIMIT]
            outcome = webhooks.Outcome(status_code=None, latency_ms=0, error=message)
        _log_attempt(job, outcome)
        return outcome

    async def _attempt(self, client: httpx.AsyncClient, job: outbox.Job) -> webhooks.Outcome:
        if job.channel == SubscriberChannel.email:
            with i18n.using(self._language(job)):
                return await self._send_email(job)
        async with self._limit:
            # DNS can change after subscribing: the client checks the address it connects to
            # on every new connection, and connects to that address only (outbound.py).
            if job.channel != SubscriberChannel.webhook:
                body = self._chat_body(job)
                if body is None:
                    return NOTHING_TO_SAY
                return await chat.send(client, url=job.url, body=body)
            return await webhooks.send(
                client, url=job.url, secret=job.secret, msg_id=job.msg_id, body=job.body
            )

    def _rendered(self, job: outbox.Job) -> email.EventMail | None:
        """An event's message in one language, rendered once for all its recipients who read
        that language (a few kept); None when it has no words for people."""
        key = (job.event_id, i18n.current())
        mail = self._mails.get(key)
        if mail is None:
            view = self._view(job)
            if view is None:
                return None
            if len(self._mails) >= RENDERED_KEPT:
                self._mails.pop(next(iter(self._mails)))
            mail = self._mails[key] = email.render_event(view)
        return mail

    def _chat_body(self, job: outbox.Job) -> bytes | None:
        """An event's message for one chat app, made once for all its subscribers (a chat
        message carries no personal link)."""
        key = (job.event_id, job.channel)
        body = self._chats.get(key)
        if body is None:
            with i18n.using(self.settings.language):
                view = self._view(job)
                if view is None:
                    return None
                body = chat.encode(chat.message(job.channel, view))
            if len(self._chats) >= RENDERED_KEPT:
                self._chats.pop(next(iter(self._chats)))
            self._chats[key] = body
        return body

    def _language(self, job: outbox.Job) -> str:
        """The subscriber's language, else the page's."""
        if job.language in i18n.LANGUAGES:
            return job.language
        return self.settings.language

    def _view(self, job: outbox.Job) -> messages.EventView | None:
        return messages.event_view(
            job.event_type,
            job.payload,
            page_name=self.settings.page_name,
            tz=self.settings.tz,
        )

    async def _send_email(self, job: outbox.Job) -> webhooks.Outcome:
        settings = self.settings
        if self.mailer is None or not settings.mail_from:
            return webhooks.Outcome(None, 0, "email is off: set PHAROS_SMTP_URL and MAIL_FROM")
        address = email.mailbox(job.url)
        sender = email.display_from(settings.page_name, settings.mail_from)
        message: EmailMessage | bytes
        if job.event_type == messages.CONFIRMATION:
            message = email.confirmation_message(
                page_name=settings.page_name,
                to=address,
                mail_from=sender,
                public_url=settings.public_url,
                # Queued before links were signed: the link it was made with.
                confirm_url=str(
                    job.payload.get("confirm_url")
                    or f"{settings.public_url}/subscriptions/{job.token}/confirm"
                ),
                what=str(job.payload["what"]),
            )
        else:
            mail = self._rendered(job)
            if mail is None:
                return NOTHING_TO_SAY
            own_links = email.Links(
                manage=f"{settings.public_url}/subscriptions/{job.token}",
                unsubscribe=f"{settings.public_url}/subscriptions/{job.token}/unsubscribe",
            )
            message = email.event_message(
                mail,
                to=address,
                mail_from=sender,
                delivery_id=job.delivery_id,
                subscriber_id=job.subscriber_id,
                public_url=settings.public_url,
                links=own_links,
            )
        return await self.mailer.send(
            message, sender=email.sender_address(settings.mail_from), recipient=address
        )

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """One round: claim, send, settle. Returns how many deliveries were attempted."""
        jobs = await asyncio.to_thread(self._claim)
        if not jobs:
            return 0
        outcomes = await asyncio.gather(*(self._send_one(client, job) for job in jobs))
        await asyncio.to_thread(self._settle, list(zip(jobs, outcomes, strict=True)))
        return len(jobs)

    async def run(self, beat: Heartbeat) -> None:
        """Deliver forever; an idle round sleeps for the poll interval."""
        try:
            await self._run(beat)
        finally:
            if self.mailer is not None:
                await self.mailer.close()

    async def _run(self, beat: Heartbeat) -> None:
        if self._client is not None:
            await self._loop(self._client, beat)
            return
        async with outbound.async_client(
            allow_private=self.settings.webhook_allow_private,
            timeout=self.settings.webhook_timeout_seconds,
            limits=httpx.Limits(
                max_connections=self.settings.webhook_concurrency,
                max_keepalive_connections=self.settings.webhook_concurrency,
            ),
        ) as client:
            await self._loop(client, beat)

    async def _loop(self, client: httpx.AsyncClient, beat: Heartbeat) -> None:
        """A pipeline: keep up to `webhook_concurrency` sends in flight, refill as they finish.

        A slow receiver holds one slot for at most the timeout; it never holds up a round,
        so deliveries to everyone else keep flowing. Finished sends are settled in batches.
        """
        capacity = self.settings.webhook_concurrency
        in_flight: set[asyncio.Task[webhooks.Outcome]] = set()
        jobs_of: dict[asyncio.Task[webhooks.Outcome], outbox.Job] = {}
        try:
            while True:
                beat()
                try:
                    finished = [t for t in in_flight if t.done()]
                    if finished:
                        in_flight.difference_update(finished)
                        results = [(jobs_of.pop(t), t.result()) for t in finished]
                        await asyncio.to_thread(self._settle, results)
                    room = capacity - len(in_flight)
                    claimed: list[outbox.Job] = []
                    if room >= max(1, capacity // 4) or not in_flight:
                        claimed = await asyncio.to_thread(self._claim, min(room, BATCH))
                    for job in claimed:
                        task = asyncio.create_task(self._send_one(client, job))
                        in_flight.add(task)
                        jobs_of[task] = job
                except Exception:  # a database hiccup must not end the loop
                    log.exception("webhook round failed; retrying")
                    claimed = []
                if in_flight:
                    # Wake when a send finishes (or to poll for new work now and then), then
                    # give others a moment to finish too, so settling happens in batches.
                    await asyncio.wait(
                        in_flight,
                        timeout=self.settings.worker_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    await asyncio.sleep(SETTLE_WINDOW)
                elif not claimed:
                    await asyncio.sleep(self.settings.worker_poll_seconds)
        finally:
            # Deliveries still in flight keep their lease; another round sends them again.
            for task in in_flight:
                task.cancel()


class DeliveryCounters:
    """Counts attempts by outcome for /metrics."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed_attempts = 0

    def count(self, outcomes: list[webhooks.Outcome]) -> None:
        """Add one round's outcomes."""
        ok = sum(1 for o in outcomes if o.ok)
        self.delivered += ok
        self.failed_attempts += len(outcomes) - ok


def _log_attempt(job: outbox.Job, outcome: webhooks.Outcome) -> None:
    """One line per delivery attempt. The receiver is named by its host only: a webhook URL's
    path and query often hold its own secret (chat webhooks do), and the signing secret, the
    body and the headers are never logged."""
    parts = urlsplit(job.url)
    host = parts.hostname or "?"
    where = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    result = str(outcome.status_code) if outcome.status_code is not None else "no answer"
    log.info(
        "delivery %s attempt %d to subscriber %s at %s: %s in %dms%s",
        job.delivery_id,
        job.attempt + 1,
        job.subscriber_id,
        where,
        result,
        outcome.latency_ms,
        "" if outcome.ok else f" ({_first_line(outcome.error).replace(job.url, where)})",
    )


def _first_line(error: str | None) -> str:
    return (error or "failed").splitlines()[0][:200] if error else "failed"

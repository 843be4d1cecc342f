"""/metrics in the Prometheus text format: webhook delivery and worker health."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from app.clock import utcnow
from app.db import read_session
from app.notifications import outbox
from app.notifications.worker import DeliveryCounters
from app.web.render_cache import RenderCache
from app.workers import Supervisor

router = APIRouter(tags=["health"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PharosCollector(Collector):
    """Reads the outbox backlog and the workers' state at scrape time."""

    def __init__(
        self,
        engine: Engine,
        counters: DeliveryCounters,
        supervisor: Supervisor | None,
        render_cache: Callable[[], RenderCache | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.counters = counters
        self.supervisor = supervisor
        self.render_cache = render_cache

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """One scrape."""
        attempts = CounterMetricFamily(
            "pharos_webhook_attempts", "Webhook delivery attempts by outcome", labels=["outcome"]
        )
        attempts.add_metric(["delivered"], self.counters.delivered)
        attempts.add_metric(["failed"], self.counters.failed_attempts)
        yield attempts
        with read_session(self.engine) as session:
            pending, oldest = outbox.backlog(session, now=utcnow())
        yield GaugeMetricFamily(
            "pharos_webhook_pending", "Deliveries waiting to be sent", value=pending
        )
        yield GaugeMetricFamily(
            "pharos_webhook_oldest_pending_seconds",
            "Age of the oldest delivery still waiting",
            value=oldest,
        )
        if self.supervisor is not None:
            beat = GaugeMetricFamily(
                "pharos_worker_last_beat_seconds",
                "Seconds since a worker's heartbeat",
                labels=["worker"],
            )
            restarts = CounterMetricFamily(
                "pharos_worker_restarts",
                "Times the supervisor restarted a worker",
                labels=["worker"],
            )
            for name, state in self.supervisor.states.items():
                beat.add_metric([name], state.age())
                restarts.add_metric([name], state.restarts)
            yield beat
            yield restarts
        cache = self.render_cache()
        if cache is not None:
            yield from _cache_metrics(cache)


def _cache_metrics(cache: RenderCache) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    stats = cache.stats
    answers = CounterMetricFamily(
        "pharos_render_cache_answers", "Public answers by how they were served", labels=["how"]
    )
    for how, count in (
        ("hit", stats.hits),
        ("stale", stats.stale),
        ("miss", stats.misses),
        ("not_modified", stats.not_modified),
    ):
        answers.add_metric([how], count)
    yield answers
    yield CounterMetricFamily("pharos_render_cache_renders", "Renders", value=stats.renders)
    yield CounterMetricFamily(
        "pharos_render_cache_render_errors", "Renders that failed", value=stats.render_errors
    )
    yield CounterMetricFamily(
        "pharos_render_cache_render_seconds", "Time spent rendering", value=stats.render_seconds
    )
    yield GaugeMetricFamily(
        "pharos_render_cache_last_refresh_seconds",
        "Duration of the last re-render after a data change",
        value=stats.last_refresh_seconds,
    )
    yield GaugeMetricFamily(
        "pharos_render_cache_entries", "Cached answers", value=len(cache.entries)
    )
    yield GaugeMetricFamily("pharos_render_cache_bytes", "Bytes held", value=cache.bytes)
    yield GaugeMetricFamily(
        "pharos_data_version", "Newest data version this replica knows", value=cache.version
    )


def build_registry(
    engine: Engine,
    counters: DeliveryCounters,
    supervisor: Supervisor | None,
    render_cache: Callable[[], RenderCache | None] = lambda: None,
) -> CollectorRegistry:
    """A registry per app (tests build many apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PharosCollector(engine, counters, supervisor, render_cache))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus scrape endpoint."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)

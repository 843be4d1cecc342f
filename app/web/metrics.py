"""/metrics in the Prometheus text format: webhook delivery and worker health."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.clock import utcnow
from app.notifications import outbox
from app.notifications.worker import DeliveryCounters
from app.workers import Supervisor

router = APIRouter(tags=["health"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PharosCollector(Collector):
    """Reads the outbox backlog and the workers' state at scrape time."""

    def __init__(
        self, engine: Engine, counters: DeliveryCounters, supervisor: Supervisor | None
    ) -> None:
        self.engine = engine
        self.counters = counters
        self.supervisor = supervisor

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """One scrape."""
        attempts = CounterMetricFamily(
            "pharos_webhook_attempts", "Webhook delivery attempts by outcome", labels=["outcome"]
        )
        attempts.add_metric(["delivered"], self.counters.delivered)
        attempts.add_metric(["failed"], self.counters.failed_attempts)
        yield attempts
        with Session(self.engine) as session:
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


def build_registry(
    engine: Engine, counters: DeliveryCounters, supervisor: Supervisor | None
) -> CollectorRegistry:
    """A registry per app (tests build many apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PharosCollector(engine, counters, supervisor))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus scrape endpoint."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)

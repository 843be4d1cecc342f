"""Probe figures on /metrics, read from the probe state at scrape time (any replica)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from app.components.present import SEVERITY
from app.db import read_session
from app.probes import service
from app.probes.runner import ProbeRunner
from app.probes.service import CERT_WARN_DAYS


class ProbeCollector(Collector):
    """pharos_probe_* gauges."""

    def __init__(self, engine: Engine, runners: list[ProbeRunner]) -> None:
        self.engine = engine
        self.runners = runners

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One scrape."""
        labels = ["probe"]
        status = GaugeMetricFamily(
            "pharos_probe_status",
            "Last result: 0 operational, 2 degraded, 3 partial outage, 4 major outage",
            labels=labels,
        )
        active = GaugeMetricFamily(
            "pharos_probe_active_status", "Status automation declared (same scale)", labels=labels
        )
        latency = GaugeMetricFamily(
            "pharos_probe_latency_seconds", "Slowest step of the last run", labels=labels
        )
        failures = GaugeMetricFamily(
            "pharos_probe_consecutive_failures", "Unhealthy results in a row", labels=labels
        )
        cert = GaugeMetricFamily(
            "pharos_probe_cert_expiry_timestamp_seconds",
            "When the backend's TLS certificate expires (wss:// probes), Unix time",
            labels=labels,
        )
        expiring = GaugeMetricFamily(
            "pharos_probe_cert_expiring",
            f"1 when the backend's certificate expires within {CERT_WARN_DAYS} days",
            labels=labels,
        )
        now = datetime.now(UTC)
        with read_session(self.engine) as session:
            states = service.list_states(session)
        for state in states:
            if state.last_status is not None:
                status.add_metric([state.name], SEVERITY[state.last_status])
            active.add_metric([state.name], SEVERITY[state.active])
            if state.last_latency_ms is not None:
                latency.add_metric([state.name], state.last_latency_ms / 1000)
            failures.add_metric([state.name], state.failures)
            if state.cert_expires_at is not None:
                cert.add_metric([state.name], state.cert_expires_at.timestamp())
                soon = state.cert_expires_at - now < timedelta(days=CERT_WARN_DAYS)
                expiring.add_metric([state.name], float(soon))
        yield from (status, active, latency, failures, cert, expiring)
        if self.runners:
            yield GaugeMetricFamily(
                "pharos_probe_leader",
                "1 when this process leads probing",
                value=float(any(r.leading for r in self.runners)),
            )

"""The background loops Pharos runs: one list, for `pharos serve` and `pharos worker`."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.config import Settings
from app.maintenance.scheduler import MaintenanceScheduler
from app.notifications.worker import DeliveryCounters, DeliveryWorker
from app.probes.runner import probe_loops
from app.publishing.export import SiteExporter
from app.workers import Loop


def background_loops(
    engine: Engine,
    settings: Settings,
    *,
    counters: DeliveryCounters | None = None,
    app: FastAPI | None = None,
) -> list[Loop]:
    """Delivery, maintenance transitions, probes, and (given the app to render) the export."""
    loops: list[Loop] = [
        DeliveryWorker(engine, settings, metrics=counters),
        MaintenanceScheduler(engine, settings),
        *probe_loops(engine, settings),
    ]
    if app is not None and settings.export_dir is not None:
        poll = settings.worker_poll_seconds
        loops.append(SiteExporter(app, engine, settings.export_dir, poll_seconds=poll))
    return loops

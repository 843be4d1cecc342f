"""Benchmark: re-render time and memory with 500 components in 50 groups and 10,000 incidents.

    python bench/render_scale.py [--components 500] [--groups 50] [--incidents 10000]
                                 [--database-url URL] [--changes 10]

Seeds the database straight through SQL (groups, components, 90 days of uptime rollups,
resolved incidents with three updates each), starts `pharos serve`, reads every public address
once cold and twice warm, then posts status changes through the API. Each write re-renders the
cached answers before it returns (render on write); the server reports how long that took on
/metrics. Prints JSON: cold render time per address, re-render time after a change (median and
worst), history page size, and the server's peak memory. Targets: re-render under 200 ms,
memory under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from common import peak_rss_mb, pharos_env, start_pharos

from app.auth import service as auth
from app.db import create_db_engine, migrate, unit_of_work
from app.models import AffectedComponent, Component, ComponentDay, Incident, IncidentUpdate, new_id
from peers.net import free_port

ADDRESSES = [
    "/",
    "/history/",
    "/history/2/",
    "/uptime/",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/history.rss",
    "/history.atom",
    "/badge.svg",
]
DAY_US = 86_400_000_000


def seed(
    url: str, components: int, groups: int, incidents: int, every_hours: float = 7
) -> tuple[str, list[str]]:
    """Fill the database; returns a staff token and the leaf component ids."""
    engine = create_db_engine(url)
    migrate(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    group_rows: list[dict[str, Any]] = [
        {"id": new_id(), "name": f"Region {g + 1}", "is_group": True, "position": g + 1}
        for g in range(groups)
    ]
    leaf_rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "name": f"OCPP gateway {n + 1}",
            "group_id": group_rows[n % groups]["id"],
            "position": n // groups + 1,
        }
        for n in range(components)
    ]
    for row in group_rows + leaf_rows:
        since = now - timedelta(days=120)
        row.update(status="operational", created_at=since, updated_at=since, showcase=True)
        row.setdefault("is_group", False)
    days = []
    today = now.date()
    for row in leaf_rows:
        for d in range(90):
            down = rng.random() < 0.03
            days.append(
                {
                    "component_id": row["id"],
                    "day": today - timedelta(days=d + 1),
                    "operational_us": DAY_US - (3_600_000_000 if down else 0),
                    "major_outage_us": 3_600_000_000 if down else 0,
                }
            )
    incident_rows, update_rows, affected_rows = [], [], []
    for n in range(incidents):
        started = now - timedelta(hours=every_hours * (n + 1))  # 10,000 in 8 years by default
        incident_id = new_id()
        component = leaf_rows[rng.randrange(components)]
        incident_rows.append(
            {
                "id": incident_id,
                "name": f"Delays processing charger status updates ({n})",
                "status": "resolved",
                "impact": "minor",
                "created_at": started,
                "updated_at": started + timedelta(hours=2),
                "started_at": started,
                "monitoring_at": started + timedelta(hours=1),
                "resolved_at": started + timedelta(hours=2),
            }
        )
        for k, (status, new) in enumerate(
            [
                ("investigating", "partial_outage"),
                ("monitoring", "operational"),
                ("resolved", "operational"),
            ]
        ):
            update_id = new_id()
            at = started + timedelta(hours=k)
            update_rows.append(
                {
                    "id": update_id,
                    "incident_id": incident_id,
                    "status": status,
                    "body": "Some chargers' status updates are delayed. We are on it.",
                    "display_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            affected_rows.append(
                {
                    "incident_update_id": update_id,
                    "component_id": component["id"],
                    "name": component["name"],
                    "old_status": "operational" if k == 0 else "partial_outage",
                    "new_status": new,
                    "set_here": True,
                }
            )
    with unit_of_work(engine) as session:
        for model, rows in (
            (Component, group_rows),
            (Component, leaf_rows),
            (ComponentDay, days),
            (Incident, incident_rows),
            (IncidentUpdate, update_rows),
            (AffectedComponent, affected_rows),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(sa.insert(model), rows[start : start + 5000])
        session.commit()
        _, token = auth.create_token(session, name="bench", now=now)
    engine.dispose()
    return token, [row["id"] for row in leaf_rows]


def metric(client: httpx.Client, name: str) -> float:
    """One unlabelled value from /metrics."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise SystemExit(f"{name} not on /metrics")


def main() -> None:
    """Seed, serve, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=500)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pharos-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    started = time.perf_counter()
    token, leaves = seed(url, args.components, args.groups, args.incidents)
    seed_s = time.perf_counter() - started
    port = free_port()
    env = pharos_env(
        database_url=url,
        public_url=f"http://127.0.0.1:{port}",
        log_level="warning",
        run_workers="false",
    )
    server = start_pharos(env, port, tmp)
    result: dict[str, Any] = {"database": url.split(":")[0], "seed_s": round(seed_s, 1)}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            cold = {}
            for address in ADDRESSES:
                t = time.perf_counter()
                response = client.get(address)
                cold[address] = round((time.perf_counter() - t) * 1000, 1)
                assert response.status_code == 200, (address, response.status_code)
                client.get(address)  # warm: counts as a reader, so it is re-rendered on change
            history = client.get("/history/").text
            result["history_page_incidents"] = history.count('class="incident-title')
            result["history_page_kb"] = round(len(history) / 1024, 1)
            result["front_page_kb"] = round(len(client.get("/").content) / 1024, 1)
            result["cold_render_ms"] = cold
            staff = {"Authorization": f"Bearer {token}"}
            refresh_ms, write_ms = [], []
            for n in range(args.changes):
                status = "degraded_performance" if n % 2 == 0 else "operational"
                t = time.perf_counter()
                response = client.patch(
                    f"/api/v1/components/{leaves[n]}", json={"status": status}, headers=staff
                )
                write_ms.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                refresh_ms.append(metric(client, "pharos_render_cache_last_refresh_seconds") * 1000)
                for address in ADDRESSES:  # read again, as the herd would
                    client.get(address)
            result["cached_addresses"] = len(ADDRESSES)
            result["rerender_all_after_change_ms"] = {
                "median": round(statistics.median(refresh_ms), 1),
                "max": round(max(refresh_ms), 1),
            }
            result["api_write_incl_rerender_ms"] = {
                "median": round(statistics.median(write_ms), 1),
                "max": round(max(write_ms), 1),
            }
            result["cache_mb"] = round(metric(client, "pharos_render_cache_bytes") / 2**20, 2)
        result["server_peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
        result["targets"] = "re-render < 200 ms, memory < 300 MB"
        print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()

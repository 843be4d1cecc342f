"""Benchmark: re-render time and memory with 500 components in 50 groups and 10,000 incidents.

    python bench/render_scale.py [--components 500] [--groups 50] [--incidents 10000]
                                 [--database-url URL] [--changes 10] [--compare REV]

Seeds the database straight through SQL (groups, components, 90 days of uptime rollups,
resolved incidents with three updates each), starts `pharos serve`, reads every public address
once cold and twice warm, then posts status changes through the API. Each write re-renders the
cached answers that show a status before it returns (render on write; the incident history
is kept, see app/web/topics.py); the server reports how long that took on /metrics. Prints
JSON: cold render time per address, re-render time after a change (median and worst), the
server's CPU time per change (its process tree's, from /proc: steadier than wall time on a
shared machine), history page size, and the server's peak memory. Targets: re-render under
200 ms, memory under 300 MB.

With --compare REV, an older commit (extracted with git archive, seeded and served with its own
code) is measured in the same run, the changes alternating between the two servers, and the
new/old ratios are printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from common import cpu_seconds, free_port, peak_rss_mb, pharos_env, start_pharos

from app.auth import service as auth
from app.db import create_db_engine, migrate, unit_of_work
from app.models import AffectedComponent, Component, ComponentDay, Incident, IncidentUpdate, new_id

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


@dataclass
class Target:
    """One commit's server under measurement: the working tree, or an older commit."""

    label: str
    tmp: Path
    pythonpath: str | None = None  # another commit's tree (None: the installed code)
    url: str = ""
    token: str = ""
    leaves: list[str] = field(default_factory=list)
    server: subprocess.Popen[bytes] | None = None
    client: httpx.Client | None = None
    result: dict[str, Any] = field(default_factory=dict)
    refresh_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def env(self, **settings: str) -> dict[str, str]:
        env = pharos_env(**settings)
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        return env


def checkout(revision: str, into: Path) -> str:
    """Another commit's tree, extracted from this repository (git archive)."""
    repo = Path(__file__).resolve().parent.parent
    into.mkdir(parents=True)
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "-C", str(repo), "archive", revision], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return str(into)


def seed_for(target: Target, args: argparse.Namespace) -> None:
    """Seed the target's database with its own code (its own migrations)."""
    target.url = args.database_url or f"sqlite:///{target.tmp / 'bench.db'}"
    started = time.perf_counter()
    if target.pythonpath is None:
        target.token, target.leaves = seed(target.url, args.components, args.groups, args.incidents)
    else:
        script = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); from render_scale import seed; "
            "print(json.dumps(seed(sys.argv[2], *map(int, sys.argv[3:]))))"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, str(Path(__file__).parent), target.url]
            + [str(n) for n in (args.components, args.groups, args.incidents)],
            env=target.env(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        target.token, target.leaves = json.loads(out.strip().splitlines()[-1])
    target.result["seed_s"] = round(time.perf_counter() - started, 1)


def start(target: Target, deadline: float) -> None:
    """Serve the target and read every address once cold and once warm."""
    port = free_port()
    env = target.env(
        database_url=target.url,
        public_url=f"http://127.0.0.1:{port}",
        log_level="warning",
        run_workers="false",
    )
    target.server = start_pharos(env, port, target.tmp, deadline=deadline)
    target.client = client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    cold = {}
    for address in ADDRESSES:
        t = time.perf_counter()
        response = client.get(address)
        cold[address] = round((time.perf_counter() - t) * 1000, 1)
        assert response.status_code == 200, (address, response.status_code)
        client.get(address)  # warm: counts as a reader, so it is re-rendered on change
    history = client.get("/history/").text
    target.result["history_page_incidents"] = history.count('class="incident-title')
    target.result["history_page_kb"] = round(len(history) / 1024, 1)
    target.result["front_page_kb"] = round(len(client.get("/").content) / 1024, 1)
    target.result["cold_render_ms"] = cold


def change(target: Target, n: int) -> None:
    """One status change through the API; the write returns once the cache is re-rendered."""
    assert target.client is not None and target.server is not None
    client = target.client
    status = "degraded_performance" if n % 2 == 0 else "operational"
    cpu = cpu_seconds(target.server.pid)
    t = time.perf_counter()
    response = client.patch(
        f"/api/v1/components/{target.leaves[n]}",
        json={"status": status},
        headers={"Authorization": f"Bearer {target.token}"},
    )
    target.write_ms.append((time.perf_counter() - t) * 1000)
    target.cpu_ms.append((cpu_seconds(target.server.pid) - cpu) * 1000)
    response.raise_for_status()
    target.refresh_ms.append(metric(client, "pharos_render_cache_last_refresh_seconds") * 1000)
    for address in ADDRESSES:  # read again, as the herd would
        client.get(address)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def main() -> None:
    """Seed, serve, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=500)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="also measure this commit (git archive of it) in the same run, changes alternating",
    )
    parser.add_argument("--start-deadline", type=float, default=300, help="seconds")
    args = parser.parse_args()
    if args.compare and args.database_url:
        parser.error("--compare needs a database per commit: leave out --database-url")

    tmp = Path(tempfile.mkdtemp(prefix="pharos-bench-"))
    targets = [Target("new", tmp / "new")]
    targets[0].tmp.mkdir()
    if args.compare:
        old = Target(f"old ({args.compare})", tmp / "old")
        old.pythonpath = checkout(args.compare, tmp / "old-tree")
        old.tmp.mkdir()
        targets.insert(0, old)
    try:
        for target in targets:
            seed_for(target, args)
            start(target, args.start_deadline)
        for n in range(args.changes):
            for target in targets:  # alternating, so both see the same load
                change(target, n)
        for target in targets:
            assert target.client is not None and target.server is not None
            result = target.result
            result["database"] = target.url.split(":")[0]
            result["cached_addresses"] = len(ADDRESSES)
            result["rerender_all_after_change_ms"] = summary(target.refresh_ms)
            result["rerender_cpu_ms"] = summary(target.cpu_ms)
            result["api_write_incl_rerender_ms"] = summary(target.write_ms)
            result["cache_mb"] = round(
                metric(target.client, "pharos_render_cache_bytes") / 2**20, 2
            )
            result["server_peak_rss_mb"] = round(peak_rss_mb(target.server.pid), 1)
        out: dict[str, Any] = {t.label: t.result for t in targets} if args.compare else {}
        if args.compare:
            old, new = targets
            out["ratio_new_to_old"] = {
                figure: round(
                    statistics.median(getattr(new, figure))
                    / statistics.median(getattr(old, figure)),
                    2,
                )
                for figure in ("refresh_ms", "cpu_ms", "write_ms")
            }
        else:
            out = targets[0].result
        out["load_average"] = [round(x, 2) for x in os.getloadavg()]
        out["targets"] = "re-render < 200 ms, memory < 300 MB"
        print(json.dumps(out, indent=2))
    finally:
        for target in targets:
            if target.client is not None:
                target.client.close()
            if target.server is not None:
                target.server.terminate()
                target.server.wait(timeout=20)


if __name__ == "__main__":
    main()

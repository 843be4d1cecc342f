"""Benchmark: `pharos import statuspage` of a large page, then a re-run.

    python bench/import_statuspage.py [--incidents 2000] [--components 50] [--database-url URL]

Serves a generated Statuspage page (the tests' stand-in, v1 shapes) on loopback, imports it
with pacing off (a real import is held to Statuspage's 1 request a second: about
incidents / 100 + postmortems + components + subscribers requests), then imports it again.
Prints JSON: seconds for the first import and the re-run, incidents per second, requests, and
this process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.clock import utcnow
from app.config import Settings
from app.db import create_db_engine, migrate
from app.importers.job import import_statuspage
from app.importers.statuspage_api import StatuspageClient
from peers import statuspage_data as fake_data
from peers.statuspage import API_KEY, Behaviour, serve
from peers.statuspage_data import NOW, PAGE_ID, FakePage, component, incident, update

STATUSES = ("degraded_performance", "partial_outage", "major_outage")


def big_page(incidents: int, components: int) -> FakePage:
    """A page of `components` components and `incidents` resolved incidents over two years."""
    rng = random.Random(15)
    ids = [f"cmpbench{n:04d}" for n in range(components)]
    for n, cid in enumerate(ids):
        fake_data.NAMES[cid] = fake_data.SHOWN[cid] = f"Component {n}"
    made = [component(cid, n + 1) for n, cid in enumerate(ids)]
    step = timedelta(days=730) / incidents
    out = []
    for n in range(incidents):
        iid, start = f"incbench{n:04d}", NOW - timedelta(days=731) + step * n
        cid, bad = rng.choice(ids), rng.choice(STATUSES)
        out.append(
            incident(
                iid,
                f"Incident {n}",
                [
                    update(
                        iid,
                        f"u{n:07d}a",
                        "investigating",
                        "Looking.",
                        start,
                        [(cid, "operational", bad)],
                    ),
                    update(
                        iid,
                        f"u{n:07d}b",
                        "monitoring",
                        "Better.",
                        start + step / 3,
                        [(cid, bad, "operational")],
                    ),
                    update(
                        iid,
                        f"u{n:07d}c",
                        "resolved",
                        "Resolved.",
                        start + step / 2,
                        [(cid, "operational", "operational")],
                    ),
                ],
            )
        )
    out.reverse()
    return FakePage(
        page={"id": PAGE_ID, "name": "Bench", "time_zone": "UTC"},
        groups=[],
        components=made,
        incidents=out,
        postmortems={},
        templates=[],
        subscribers={},
        uptime={},
    )


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, page_name="Bench", run_workers=False)
        engine = create_db_engine(url)
        migrate(engine)
        results = {}
        with serve(big_page(args.incidents, args.components), Behaviour()) as base:
            for run in ("first", "again"):
                client = StatuspageClient(f"{base}/v1", api_key=API_KEY, max_rate=0)
                began = time.perf_counter()
                with client:
                    report = import_statuspage(
                        engine, client, page_id=PAGE_ID, settings=settings, clock=utcnow
                    )
                took = time.perf_counter() - began
                assert report.error is None, report.error
                results[run] = {
                    "seconds": round(took, 2),
                    "requests": client.requests,
                    "changes": len(report.actions),
                }
        engine.dispose()
    print(
        json.dumps(
            {
                "incidents": args.incidents,
                "components": args.components,
                "first_import_s": results["first"]["seconds"],
                "incidents_per_s": round(args.incidents / results["first"]["seconds"], 1),
                "rerun_s": results["again"]["seconds"],
                "rerun_changes": results["again"]["changes"],
                "requests": results["first"]["requests"],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

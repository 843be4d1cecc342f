"""Benchmark: one incident update fanned out to N webhook subscribers on a local receiver.

    python bench/webhook_fanout.py [--subscribers 10000] [--database-url URL]

Starts a verifying receiver and `pharos serve` (both on loopback), registers N subscribers
straight in the database, opens one incident through the API and prints how long the API
write took, how long until every delivery was received and verified, and the server's peak
memory (VmHWM). Target on a 2-core machine: 10,000 within 60 s, under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from common import PHAROS, peak_rss_mb, wait_http

from app.auth import service as auth
from app.db import create_db_engine, migrate, unit_of_work
from app.models import Subscriber
from app.notifications.webhooks import new_secret
from peers.net import free_port

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Run the benchmark and print its numbers as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--concurrency", type=int, default=None, help="PHAROS_WEBHOOK_CONCURRENCY")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pharos-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    secret = new_secret()
    receiver_port, server_port = free_port(), free_port()
    hook = f"http://127.0.0.1:{receiver_port}/hook"
    with unit_of_work(engine) as session:
        session.execute(sa.delete(Subscriber))
        session.execute(
            sa.insert(Subscriber),
            [
                {
                    "id": f"b{n:011d}",
                    "url": f"{hook}/{n}",
                    "secret": secret,
                    "unsubscribe_token": secrets.token_urlsafe(16),
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                    "consecutive_failures": 0,
                }
                for n in range(args.subscribers)
            ],
        )
        session.commit()
        _, token = auth.create_token(session, name="bench", now=now)
    engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHAROS_")}
    env.update(
        PHAROS_DATABASE_URL=url,
        PHAROS_WEBHOOK_ALLOW_PRIVATE="true",
        PHAROS_PUBLIC_URL=f"http://127.0.0.1:{server_port}",
        PHAROS_LOG_LEVEL="warning",
    )
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "webhook_receiver.py"), str(receiver_port), secret]
    )
    server = subprocess.Popen([str(PHAROS), "serve", "--port", str(server_port)], env=env, cwd=tmp)
    try:
        wait_http(f"http://127.0.0.1:{receiver_port}/count")
        wait_http(f"http://127.0.0.1:{server_port}/healthz")
        start = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{server_port}/api/v1/incidents",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "Delays processing charger status updates", "body": "Investigating."},
            timeout=120,
        )
        write_s = time.perf_counter() - start
        response.raise_for_status()
        counts: dict[str, int] = {}
        while time.perf_counter() - start < args.timeout:
            counts = httpx.get(f"http://127.0.0.1:{receiver_port}/count").json()
            if counts["unique"] >= args.subscribers:
                break
            time.sleep(0.1)
        total_s = time.perf_counter() - start
        result = {
            "subscribers": args.subscribers,
            "concurrency": args.concurrency or "default",
            "database": url.split(":")[0],
            "api_write_with_fanout_s": round(write_s, 3),
            "all_delivered_and_verified_s": round(total_s, 2),
            "deliveries_per_s": round(counts.get("unique", 0) / total_s, 1),
            "unique_received": counts.get("unique"),
            "requests": counts.get("requests"),
            "bad_signatures": counts.get("bad"),
            "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
        }
        print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        receiver.terminate()
        server.wait(timeout=20)
        receiver.wait(timeout=20)


if __name__ == "__main__":
    main()

"""Benchmark: one incident fanned out to N email subscribers and to N chat webhooks.

    nice -n 10 python bench/people_fanout.py [--subscribers 10000] [--database-url URL]
        [--baseline DIR]   # also run the server from DIR (a checkout of an older commit)

For each channel in turn: registers N subscribers straight in a fresh database, starts an SMTP
sink and a chat receiver (bench/people_sink.py) and `pharos serve` (all on loopback), opens one
incident through the API and measures the time until the last message was received, the
server's peak memory (VmHWM of its largest process) and the CPU seconds the server and the
receivers used. Targets on a 2-core machine: <= 60 s each, under 300 MB.

With --baseline the same fan-out runs against the older code first, in the same run, so the
two can be compared on a machine whose load changes (the load average is printed with each).
The last line printed is one JSON object with the figures.
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
from typing import Any

import httpx
from common import cpu_seconds, free_port, peak_rss_mb, pharos_env, wait_http

ROOT = Path(__file__).resolve().parent.parent


def _rows(channel: str, n: int, receiver: str, now: datetime) -> list[dict[str, Any]]:
    from app.notifications.webhooks import new_secret

    secret = new_secret()
    return [
        {
            "id": f"p{n:011d}",
            "channel": channel,
            "url": f"mailto:reader{n}@example.org" if channel == "email" else f"{receiver}/{n}",
            "email": f"reader{n}@example.org" if channel == "email" else None,
            "secret": secret,
            "unsubscribe_token": secrets.token_urlsafe(16),
            "status": "active",
            "confirmed_at": now,
            "created_at": now,
            "updated_at": now,
            "consecutive_failures": 0,
        }
        for n in range(n)
    ]


def setup(url: str, channel: str, subscribers: int, receiver: str) -> str:
    """Migrate a fresh database, register the subscribers; returns an API token.

    Runs in a subprocess with the code under test first on the path, so an older commit
    migrates and fills the database with its own schema."""
    import sqlalchemy as sa

    from app.auth import service as auth
    from app.db import create_db_engine, migrate, unit_of_work
    from app.models import Subscriber

    engine = create_db_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        session.execute(sa.delete(Subscriber))
        session.execute(sa.insert(Subscriber), _rows(channel, subscribers, receiver, now))
        _, token = auth.create_token(session, name="bench", now=now)
    engine.dispose()
    return token


def run(
    channel: str,
    subscribers: int,
    database_url: str | None,
    timeout: float,
    code: Path,
    settings: dict[str, str],
) -> dict[str, Any]:
    """One fan-out: N subscribers of one channel, one incident, the server run from `code`."""
    tmp = Path(tempfile.mkdtemp(prefix="pharos-bench-people-"))
    url = database_url or f"sqlite:///{tmp / 'bench.db'}"
    smtp_port, http_port, server_port = free_port(), free_port(), free_port()
    receiver = f"http://127.0.0.1:{http_port}/hooks"
    path = {"PYTHONPATH": os.pathsep.join([str(code), str(ROOT / "bench")])}
    token = subprocess.run(
        [sys.executable, __file__, "--setup", url, channel, str(subscribers), receiver],
        env={**os.environ, **path},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    env = pharos_env(
        database_url=url,
        webhook_allow_private="true",
        public_url=f"http://127.0.0.1:{server_port}",
        page_name="Zaptec",
        timezone="Europe/Oslo",
        log_level="warning",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        mail_from="status@zaptec.example",
        **settings,
    )
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "people_sink.py"), str(smtp_port), str(http_port)]
    )
    serve = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
    server = subprocess.Popen([*serve, "--port", str(server_port)], env={**env, **path}, cwd=tmp)
    try:
        wait_http(f"http://127.0.0.1:{http_port}/count")
        wait_http(f"http://127.0.0.1:{server_port}/healthz", deadline=120)
        cpu_before = cpu_seconds(server.pid), cpu_seconds(sink.pid)
        start = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{server_port}/api/v1/incidents",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "Delays in processing charging events", "body": "Investigating."},
            timeout=120,
        )
        write_s = time.perf_counter() - start
        response.raise_for_status()
        key = "mail" if channel == "email" else "chat_unique"
        counts: dict[str, int] = {}
        while time.perf_counter() - start < timeout:
            counts = httpx.get(f"http://127.0.0.1:{http_port}/count").json()
            if counts[key] >= subscribers:
                break
            time.sleep(0.1)
        total_s = time.perf_counter() - start
        return {
            "channel": channel,
            "code": str(code),
            "subscribers": subscribers,
            "api_write_with_fanout_s": round(write_s, 3),
            "last_delivery_s": round(total_s, 2),
            "per_s": round(counts.get(key, 0) / total_s, 1),
            "received": counts.get(key),
            "bad": counts.get("bad"),
            "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
            "server_cpu_s": round(cpu_seconds(server.pid) - cpu_before[0], 1),
            "receiver_cpu_s": round(cpu_seconds(sink.pid) - cpu_before[1], 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        server.terminate()
        sink.terminate()
        server.wait(timeout=30)
        sink.wait(timeout=30)


def main() -> None:
    """Run both fan-outs and print their numbers; the last line is one JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file each")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--channels", default="email,slack")
    parser.add_argument("--baseline", type=Path, help="a checkout of older code to compare")
    parser.add_argument("--code", type=Path, default=ROOT, help="the code to measure")
    parser.add_argument(
        "--set", action="append", default=[], help="a server setting, e.g. smtp_concurrency=32"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for channel in args.channels.split(","):
        for name, code in (("baseline", args.baseline), ("this", args.code)):
            if code is None:
                continue
            settings = dict(item.split("=", 1) for item in args.set)
            result = run(channel, args.subscribers, args.database_url, args.timeout, code, settings)
            print(json.dumps(result), flush=True)
            results.setdefault(channel, {})[name] = result
        if args.baseline is not None:
            old, new = results[channel]["baseline"], results[channel]["this"]
            results[channel]["speedup"] = round(old["last_delivery_s"] / new["last_delivery_s"], 2)
    print(json.dumps({"targets": {"last_delivery_s": 60, "rss_mb": 300}, **results}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--setup"]:
        print(setup(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
    else:
        main()

"""Benchmark: a fleet of 10,000 EVSEs in 200 locations whose statuses change at 50 per second,
in bursts, for two minutes, against `pharos serve`.

    nice -n 10 python bench/fleet.py [--locations 200] [--evses-per-location 50]
                                     [--rate 50] [--seconds 120]

An OCPI 2.2.1 CPO (peers/ocpi.py) holds the fleet; `pharos serve` runs an `ocpi` probe of it
(handshake, full read, then incremental reads every 5 s) and 20 areas (one per city). Once
the status page shows every area's charger count, the CPO pushes EVSE status PATCHes to
Pharos's receiver: each second a burst of `rate` changes sent at once. One change per burst
is a marker in an area no other change touches; a reader polling `/` measures how long until
the page shows it (change-to-page latency). Meanwhile the server's processes are sampled:
CPU share (CPU seconds per wall second, over all its processes) and resident memory; and
/metrics gives the render cache's re-render times. Prints one JSON object last.
Also measured: how long another writer (a push every 200 ms) waits while the first full read
is stored (the read is written a few locations per transaction, so no writer should wait
long). Targets: change-to-page p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from common import PHAROS, free_port, pharos_env, wait_http

from peers.ocpi import COUNTRY_CODE, PARTY_ID, Cpo, encode_token, make_location, ocpi_time, serve

CITIES = 20
MARKER_CITY = "City00"
TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """A process and all its descendants (granian runs workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes now."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def metric(text: str, name: str) -> float | None:
    """One sample's value from Prometheus text."""
    found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.M)
    return float(found.group(1)) if found else None


def marker_count(page: str) -> int | None:
    """How many chargers the marker area's row says work."""
    found = re.search(
        rf"{MARKER_CITY} chargers.*?chargers-count\">(\d+) of (\d+) chargers? working", page, re.S
    )
    return int(found.group(1)) if found else None


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def load(
    base: str, cpo: Cpo, evses: dict[str, list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    """Send bursts for the duration; measure when each marker shows on the page."""
    receiver = f"{base}/ocpi/2.2.1/locations/{COUNTRY_CODE}/{PARTY_ID}"
    auth = {"Authorization": encode_token(cpo.client_token_b or "")}
    others = [loc for loc in evses if not loc.startswith(MARKER_CITY)]
    marker_loc = next(loc for loc in evses if loc.startswith(MARKER_CITY))
    marker_uid = evses[marker_loc][0]
    latencies: list[float] = []
    errors = 0
    sent = 0
    rng = random.Random(17)
    limits = httpx.Limits(max_connections=args.rate + 10)
    async with httpx.AsyncClient(trust_env=False, timeout=30, limits=limits) as http:
        page = await http.get(f"{base}/")
        working = marker_count(page.text)
        assert working is not None, "the marker area is not on the page"
        down = False

        async def push(location: str, uid: str, status: str) -> None:
            nonlocal errors, sent
            at = datetime.now(UTC)
            cpo.set_status(location, uid, status, at)
            answer = await http.patch(
                f"{receiver}/{location}/{uid}",
                json={"status": status, "last_updated": ocpi_time(at)},
                headers=auth,
            )
            sent += 1
            if answer.status_code != 200:
                errors += 1

        # One reader polls the page every 50 ms (as a busy page's readers would, together) and
        # settles every marker still waiting whose count it now shows.
        waiting: list[tuple[int, float]] = []  # (expected count, sent at)
        finished = asyncio.Event()

        async def reader() -> None:
            while not (finished.is_set() and not waiting):
                page = await http.get(f"{base}/")
                shown = marker_count(page.text)
                now = time.perf_counter()
                # Markers alternate the count; the first pending one the page shows is visible,
                # and so is every earlier one (overtaken by it). At the end, the last one.
                match = next((i for i, (exp, _) in enumerate(waiting) if exp == shown), None)
                if finished.is_set() and waiting and waiting[-1][0] == shown:
                    match = len(waiting) - 1
                if match is not None:
                    latencies.extend(now - started for _, started in waiting[: match + 1])
                    del waiting[: match + 1]
                while waiting and now - waiting[0][1] > 30:
                    latencies.append(float("inf"))
                    waiting.pop(0)
                await asyncio.sleep(0.05)

        polling = asyncio.create_task(reader())
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            tick = time.perf_counter()
            down = not down
            expected = working - 1 if down else working
            status = "OUTOFORDER" if down else "AVAILABLE"
            burst = [push(marker_loc, marker_uid, status)]
            for _ in range(args.rate - 1):
                location = rng.choice(others)
                roll = rng.random()
                change = (
                    "CHARGING" if roll < 0.6 else ("AVAILABLE" if roll < 0.95 else "OUTOFORDER")
                )
                burst.append(push(location, rng.choice(evses[location]), change))
            waiting.append((expected, time.perf_counter()))
            await asyncio.gather(*burst)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
        finished.set()
        await polling
    return {"latencies": latencies, "errors": errors, "sent": sent}


def other_writer(
    base: str,
    cpo: Cpo,
    evses: dict[str, list[str]],
    done: threading.Event,
    waits: list[float],
) -> None:
    """Another writer while the first full read is stored: once the platform has registered,
    a push every 200 ms (each waits for SQLite's write lock like any writer); how long each
    took to be answered."""
    location = next(iter(evses))
    url = f"{base}/ocpi/2.2.1/locations/{COUNTRY_CODE}/{PARTY_ID}/{location}/{evses[location][0]}"
    with httpx.Client(trust_env=False, timeout=60) as http:
        while not done.is_set():
            if cpo.client_token_b:
                at = ocpi_time(datetime.now(UTC))
                started = time.perf_counter()
                http.patch(
                    url,
                    json={"status": "AVAILABLE", "last_updated": at},
                    headers={"Authorization": encode_token(cpo.client_token_b)},
                )
                waits.append(time.perf_counter() - started)
            done.wait(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--evses-per-location", type=int, default=50)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    args = parser.parse_args()

    cpo = Cpo(page_limit=50)
    now = datetime.now(UTC)
    evses: dict[str, list[str]] = {}
    for n in range(args.locations):
        city = f"City{n % CITIES:02d}"
        location = make_location(
            f"{city}-{n:03d}", city=city, evses=args.evses_per_location, at=now
        )
        cpo.add(location)
        evses[location["id"]] = [e["uid"] for e in location["evses"]]

    with tempfile.TemporaryDirectory() as tmp, serve(cpo):
        work = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        (work / "probes.toml").write_text(
            f"""[[probe]]
name = "roaming"
kind = "ocpi"
component = "Roaming (OCPI)"
versions_url = "{cpo.base_url}/ocpi/versions"
token = "{cpo.token_a}"
interval = "5s"
timeout = "10s"
slow = "5s"
"""
        )
        areas = "".join(
            f'[[area]]\nname = "City{c:02d}"\ncomponent = "City{c:02d} chargers"\n'
            f'cities = ["City{c:02d}"]\n\n'
            for c in range(CITIES)
        )
        (work / "fleet.toml").write_text(areas)
        env = pharos_env(
            database_url=f"sqlite:///{work / 'pharos.db'}",
            public_url=base,
            probes_file=str(work / "probes.toml"),
            fleet_file=str(work / "fleet.toml"),
            log_level="warning",
            secret_key=secrets.token_urlsafe(32),  # encrypts the Token C it stores
        )
        # The machine may be shared: give the server time to start.
        server = subprocess.Popen([str(PHAROS), "serve", "--port", str(port)], env=env, cwd=work)
        try:
            wait_http(f"{base}/healthz", deadline=300)
        except BaseException:
            server.terminate()
            server.wait(timeout=30)
            raise
        try:
            setup_started = time.monotonic()
            reading = threading.Event()
            writer_waits: list[float] = []
            other = threading.Thread(
                target=other_writer, args=(base, cpo, evses, reading, writer_waits), daemon=True
            )
            other.start()
            while True:
                page = httpx.get(f"{base}/", timeout=10).text
                if page.count('class="chargers-count"') >= CITIES:
                    break
                if time.monotonic() - setup_started > 600:
                    raise SystemExit("the fleet never showed up on the page")
                time.sleep(1)
            full_read = time.monotonic() - setup_started
            reading.set()
            other.join(timeout=60)
            pids = tree(server.pid)
            cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
            metrics_before = httpx.get(f"{base}/metrics", timeout=10).text
            rss_samples: list[float] = []

            async def run() -> dict[str, Any]:
                async def sample() -> None:
                    while True:
                        rss_samples.append(rss_mb(tree(server.pid)))
                        await asyncio.sleep(1)

                sampler = asyncio.create_task(sample())
                try:
                    return await load(base, cpo, evses, args)
                finally:
                    sampler.cancel()

            result = asyncio.run(run())
            pids = tree(server.pid)
            cpu = cpu_seconds(pids) - cpu_before
            wall = time.monotonic() - wall_before
            metrics_after = httpx.get(f"{base}/metrics", timeout=10).text
        finally:
            server.terminate()
            server.wait(timeout=30)

    def delta(name: str) -> float:
        return (metric(metrics_after, name) or 0.0) - (metric(metrics_before, name) or 0.0)

    renders = delta("pharos_render_cache_renders_total") or delta("pharos_render_cache_renders")
    render_seconds = delta("pharos_render_cache_render_seconds_total") or delta(
        "pharos_render_cache_render_seconds"
    )
    latencies = result["latencies"]
    figures = {
        "evses": args.locations * args.evses_per_location,
        "locations": args.locations,
        "changes_per_second": args.rate,
        "seconds": args.seconds,
        "changes_sent": result["sent"],
        "push_errors": result["errors"],
        "full_read_to_page_seconds": round(full_read, 1),
        "writes_during_full_read": len(writer_waits),
        "write_during_full_read_max_ms": round(max(writer_waits) * 1000, 1)
        if writer_waits
        else None,
        "change_to_page_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "change_to_page_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "change_to_page_max_ms": round(max(latencies) * 1000, 1),
        "markers": len(latencies),
        "renders": int(renders),
        "mean_render_ms": round(render_seconds / renders * 1000, 1) if renders else None,
        "last_refresh_ms": round(
            (metric(metrics_after, "pharos_render_cache_last_refresh_seconds") or 0) * 1000, 1
        ),
        "cpu_share": round(cpu / wall, 3),
        "rss_mb_max": round(max(rss_samples), 1) if rss_samples else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

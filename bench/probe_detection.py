"""Benchmark: how fast the README's example probe makes a stalled backend public, and how
quiet it stays on a healthy backend whose probe runs fail at random.

    nice -n 10 python bench/probe_detection.py [--detections 5] [--windows 1000]

1. Detection (real time): a real OCPP central system (peers/csms.py) and a real `pharos serve`
   with PHAROS_PROBES_FILE holding the README's example ocpp16 probe (interval 15 s, timeout
   10 s, 5 results to open with quick confirmation re-probes 1 s apart, 2 to recover,
   propagation timeout 10 s). `--detections` times, at a random moment within the interval,
   the backend's processing is stalled behind a healthy gateway (CALLs answered, status never
   applied); measured: fault -> newest incident "investigating" on the public /api/v2, and
   healing -> "monitoring" there. Reported: every trial, the median and the worst.
2. Noise (simulated time): `--windows` windows of 10 minutes of a healthy backend whose
   connections fail at random, so that 1 probe run in 20 fails (an HTTP 503 on the upgrade or
   CALLERRORs, independently per connection; the measured failure rate is printed). The probe
   really runs against the real central system, with the real runner (re-probes included),
   rules and database; the 15 s between runs and the 1 s between re-probes pass on a fake clock.
   Counted: incidents opened (target 0), and the distribution per window of incidents and of
   the longest run of unhealthy results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from app.config import Settings
from app.db import create_db_engine, migrate, unit_of_work
from app.models import Incident
from app.probes.config import parse_probes
from app.probes.runner import ProbeRunner, probe_client
from peers.csms import CentralSystem
from peers.net import free_port

ROOT = Path(__file__).resolve().parent.parent
PHAROS = Path(sys.executable).parent / "pharos"
INTERVAL = 15.0  # the README example's
CHARGE_POINTS = ["PHAROS-PROBE-1", "PHAROS-PROBE-2"]
RUN_FAILURE_RATE = 1 / 20


def probes_toml(csms: CentralSystem) -> str:
    """The README's example ocpp16 probe, pointed at the central system."""
    return f"""
[[probe]]
name = "ocpp-backend"
kind = "ocpp16"
component = "Cloud Services (OCPP)"
url = "{csms.ws_url}"
charge_point_ids = {json.dumps(CHARGE_POINTS)}
interval = "15s"
timeout = "10s"
slow = "2s"
failures_to_open = 5
successes_to_recover = 2
confirm_quickly = true
confirm_spacing = "1s"
quiet_period = "15m"
[probe.propagation]
url = "{csms.http_url}/chargers/{{charge_point_id}}"
json_pointer = "/last_status/info"
timeout = "10s"
lag_degraded = "5s"
poll_every = "250ms"
"""


def public_incident_status(base: str) -> str | None:
    """Status of the newest incident on the public v2 API, or None."""
    incidents = httpx.get(f"{base}/api/v2/incidents.json", timeout=5).json()["incidents"]
    return incidents[0]["status"] if incidents else None


def wait_for(check: Any, *, deadline: float, what: str) -> float:
    """Poll check() every 100 ms; seconds until it was true."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise SystemExit(f"{what} not reached within {deadline:.0f} s")


def detection(tmp: Path, trials: int, rng: random.Random) -> dict[str, Any]:
    """Stalled processing -> public Investigating; healing -> Monitoring (real time)."""
    to_public: list[float] = []
    to_monitoring: list[float] = []
    with CentralSystem() as csms:
        probes_file = tmp / "probes.toml"
        probes_file.write_text(probes_toml(csms))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHAROS_")}
        env.update(
            PHAROS_DATABASE_URL=f"sqlite:///{tmp / 'detect.db'}",
            PHAROS_PUBLIC_URL=base,
            PHAROS_PROBES_FILE=str(probes_file),
            PHAROS_LOG_LEVEL="warning",
        )
        with (tmp / "serve.stderr").open("wb") as err:
            server = subprocess.Popen(
                [str(PHAROS), "serve", "--port", str(port)], env=env, cwd=tmp, stderr=err
            )
        try:
            wait_for(lambda: _answers(base), deadline=120, what="pharos serve")
            # Let a few healthy rounds pass (and the runner take the lease).
            time.sleep(2 * INTERVAL)
            if public_incident_status(base) is not None:
                raise SystemExit("an incident opened on a healthy backend")
            for _ in range(trials):
                time.sleep(rng.uniform(0, INTERVAL))  # a random moment within the interval
                csms.set_fault("stall_processing")
                to_public.append(
                    wait_for(
                        lambda: public_incident_status(base) == "investigating",
                        deadline=300,
                        what="public Investigating",
                    )
                )
                time.sleep(rng.uniform(0, INTERVAL))
                csms.set_fault(None)
                to_monitoring.append(
                    wait_for(
                        lambda: public_incident_status(base) == "monitoring",
                        deadline=300,
                        what="public Monitoring",
                    )
                )
                print(
                    json.dumps(
                        {
                            "trial": len(to_public),
                            "investigating_s": round(to_public[-1], 1),
                            "monitoring_s": round(to_monitoring[-1], 1),
                        }
                    ),
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=20)
    return {
        "trials": trials,
        "fault_to_public_investigating_s": [round(t, 1) for t in to_public],
        "investigating_median_s": round(statistics.median(to_public), 1),
        "investigating_worst_s": round(max(to_public), 1),
        "recovery_to_public_monitoring_s": [round(t, 1) for t in to_monitoring],
        "monitoring_median_s": round(statistics.median(to_monitoring), 1),
        "monitoring_worst_s": round(max(to_monitoring), 1),
        "targets_s": {"investigating": 45, "monitoring": 30},
        "met": max(to_public) <= 45 and max(to_monitoring) <= 30,
    }


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class SimulatedClock:
    """Wall time that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """The runner's pause between re-probes: simulated time passes, real time doesn't."""
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def longest_unhealthy_streak(oks: list[bool]) -> int:
    """The longest run of unhealthy results in a row."""
    longest = current = 0
    for ok in oks:
        current = 0 if ok else current + 1
        longest = max(longest, current)
    return longest


def noise(tmp: Path, windows: int, seed: int, parallel: int) -> dict[str, Any]:
    """Healthy backend, 1 run in 20 failing at random, 10-minute windows on a simulated clock.

    `parallel` copies of the probe (own name, charge point ids, component and clock) share
    the windows between them and run at the same time, to finish sooner; each copy is a probe
    of its own for the rules, so this changes nothing about what is counted.
    """
    url = f"sqlite:///{tmp / 'noise.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    settings = Settings(database_url=url, run_workers=False)
    runs_per_window = int(600 / INTERVAL)
    # A run fails when any of its connections does: per connection 1 - (1 - 1/20)^(1/ids).
    per_connection = 1 - (1 - RUN_FAILURE_RATE) ** (1 / len(CHARGE_POINTS))
    scheduled = reprobes = failed = 0
    incidents_per_window: Counter[int] = Counter()
    streaks: Counter[int] = Counter()
    classes: Counter[str] = Counter()
    with CentralSystem() as csms:
        csms.set_fault("flaky", flaky_rate=per_connection, flaky_seed=seed)
        template = tomllib.loads(probes_toml(csms))["probe"][0]
        copies = []
        for i in range(parallel):
            table = {
                **template,
                "name": f"ocpp-backend-{i}",
                "component": f"Cloud Services (OCPP) {i}",
                "charge_point_ids": [f"{cp}-{i}" for cp in CHARGE_POINTS],
            }
            clock = SimulatedClock()
            (probe,) = parse_probes({"probe": [table]})
            copies.append(
                (ProbeRunner(engine, settings, [probe], clock=clock, sleep=clock.sleep), clock)
            )

        def incident_count(component: str) -> int:
            with unit_of_work(engine) as session:
                stmt = select(Incident).where(col(Incident.name).contains(component))
                return len(session.exec(stmt).all())

        async def windows_of(runner: ProbeRunner, clock: SimulatedClock, count: int) -> None:
            nonlocal scheduled, reprobes, failed
            (probe,) = runner.probes.values()
            await asyncio.to_thread(runner.prepare)
            async with probe_client() as http:
                for _ in range(count):
                    before = await asyncio.to_thread(incident_count, probe.component)
                    oks: list[bool] = []
                    for _ in range(runs_per_window):
                        results = await runner.decide(probe, http)
                        scheduled += 1
                        reprobes += len(results) - 1
                        oks += [r.ok for r in results]
                        classes.update(c for r in results for c in r.error_classes)
                        clock.now += timedelta(seconds=INTERVAL)
                        await asyncio.to_thread(runner.settle)
                    failed += oks.count(False)
                    after = await asyncio.to_thread(incident_count, probe.component)
                    incidents_per_window[after - before] += 1
                    streaks[longest_unhealthy_streak(oks)] += 1

        async def simulate() -> None:
            shares = [windows // parallel + (i < windows % parallel) for i in range(parallel)]
            await asyncio.gather(
                *(windows_of(r, c, n) for (r, c), n in zip(copies, shares, strict=True))
            )

        start = time.monotonic()
        asyncio.run(simulate())
        took = time.monotonic() - start
        connections = csms.connections
    with unit_of_work(engine) as session:
        opened = len(session.exec(select(Incident)).all())
    engine.dispose()
    runs = scheduled + reprobes
    return {
        "simulated_minutes": windows * 10,
        "windows_of_10_min": windows,
        "scheduled_runs": scheduled,
        "confirmation_reprobes": reprobes,
        "failed_runs": failed,
        "measured_failure_rate": f"1 in {runs / failed:.1f}" if failed else "none",
        "error_classes": dict(classes.most_common()),
        "upgrades_attempted": connections,
        "incidents_opened": opened,
        "windows_by_incidents_opened": {str(k): v for k, v in sorted(incidents_per_window.items())},
        "windows_by_longest_unhealthy_streak": {str(k): v for k, v in sorted(streaks.items())},
        "target_incidents": 0,
        "met": opened == 0,
        "real_seconds": round(took, 1),
        "clock": "simulated (fake clock; probes ran for real against the central system)",
    }


def main() -> None:
    """Run both parts and print their numbers as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", type=int, default=5, help="stall/heal trials")
    parser.add_argument("--windows", type=int, default=1000, help="10-minute noise windows")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=10, help="probe copies sharing windows")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-noise", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pharos-probe-bench-"))
    report: dict[str, Any] = {
        "settings": "README example: interval 15 s, timeout 10 s, propagation timeout 10 s, "
        "5 results to open (re-probes 1 s apart), 2 to recover, quiet period 15 min",
    }
    if not args.skip_detection:
        rng = random.Random(args.seed)
        report["detection_stalled_processing"] = detection(tmp, args.detections, rng)
        print(json.dumps(report["detection_stalled_processing"]), flush=True)
    if not args.skip_noise:
        report["noise_one_in_twenty"] = noise(tmp, args.windows, args.seed, args.parallel)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

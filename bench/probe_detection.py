"""Benchmark: how fast default probe thresholds make a stalled backend public, and how quiet
they stay on a healthy backend with random probe failures.

    python bench/probe_detection.py [--windows 100] [--skip-detection] [--skip-noise]

1. Detection (real time): a real OCPP central system (tests/probes/csms.py) and a real
   `pharos serve` with PHAROS_PROBES_FILE and the default thresholds (interval 15 s, timeout
   10 s, 3 failures to open, 2 successes to recover, propagation timeout 10 s). The backend's
   processing is stalled behind a healthy gateway (CALLs answered, status never applied);
   measured: fault injection -> incident "investigating" on the public /api/v2, and recovery ->
   "monitoring" there.
2. Noise (simulated time): `--windows` windows of 10 minutes of a healthy backend, each probe
   run failing at random with probability 1/20 (an injected HTTP 503 on the upgrade or a
   CALLERROR for that run). The probe really runs against the real central system and the
   real rules and database record each result, but the 15 s between runs pass on a fake clock.
   Counted: incidents opened (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from app.config import Settings
from app.db import create_db_engine, migrate, unit_of_work
from app.models import Incident
from app.probes.config import load_probes
from app.probes.runner import ProbeRunner, probe_client
from peers.csms import CentralSystem
from peers.net import free_port

ROOT = Path(__file__).resolve().parent.parent
PHAROS = Path(sys.executable).parent / "pharos"
INTERVAL = 15.0  # the default


def probes_toml(csms: CentralSystem) -> str:
    """The probe file: defaults everywhere except what the backend needs."""
    return f"""
[[probe]]
name = "ocpp-backend"
kind = "ocpp16"
component = "Cloud Services (OCPP)"
url = "{csms.ws_url}"
charge_point_ids = ["PHAROS-PROBE-1", "PHAROS-PROBE-2"]
[probe.propagation]
url = "{csms.http_url}/chargers/{{charge_point_id}}"
json_pointer = "/last_status/info"
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


def detection(tmp: Path) -> dict[str, Any]:
    """Stalled processing -> public Investigating; recovery -> Monitoring (real time)."""
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
            wait_for(lambda: _answers(base), deadline=30, what="pharos serve")
            # Let a few healthy rounds pass (and the runner take the lease).
            time.sleep(2 * INTERVAL)
            if public_incident_status(base) is not None:
                raise SystemExit("an incident opened on a healthy backend")
            csms.set_fault("stall_processing")
            to_public = wait_for(
                lambda: public_incident_status(base) == "investigating",
                deadline=300,
                what="public Investigating",
            )
            csms.set_fault(None)
            to_monitoring = wait_for(
                lambda: public_incident_status(base) == "monitoring",
                deadline=300,
                what="public Monitoring",
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    return {
        "fault_to_public_investigating_s": round(to_public, 1),
        "recovery_to_public_monitoring_s": round(to_monitoring, 1),
        "targets_s": {"investigating": 90, "monitoring": 60},
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


def noise(tmp: Path, windows: int, seed: int) -> dict[str, Any]:
    """Healthy backend, random 1-in-20 failed runs, 10-minute windows on a simulated clock."""
    rng = random.Random(seed)
    url = f"sqlite:///{tmp / 'noise.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    settings = Settings(database_url=url, run_workers=False)
    clock = SimulatedClock()
    runs_per_window = int(600 / INTERVAL)
    failed_runs = noisy_windows = 0
    with CentralSystem() as csms:
        probes_file = tmp / "noise.toml"
        probes_file.write_text(probes_toml(csms))
        runner = ProbeRunner(engine, settings, load_probes(probes_file), clock=clock)
        probe = runner.probes["ocpp-backend"]

        def incident_count() -> int:
            with unit_of_work(engine) as session:
                return len(session.exec(select(Incident)).all())

        async def simulate() -> int:
            nonlocal failed_runs, noisy_windows
            await asyncio.to_thread(runner.prepare)
            async with probe_client() as http:
                for _ in range(windows):
                    before = incident_count()
                    for _ in range(runs_per_window):
                        fail = rng.random() < 1 / 20
                        csms.set_fault(rng.choice(["reject", "error"]) if fail else None)
                        result = await runner.run_probe(probe, http)
                        failed_runs += not result.ok
                        clock.now += timedelta(seconds=INTERVAL)
                        await asyncio.to_thread(runner.settle)
                    noisy_windows += incident_count() > before
            return windows * runs_per_window

        start = time.monotonic()
        total_runs = asyncio.run(simulate())
        took = time.monotonic() - start
    with unit_of_work(engine) as session:
        opened = len(session.exec(select(Incident)).all())
    engine.dispose()
    return {
        "simulated_minutes": windows * 10,
        "windows_of_10_min": windows,
        "probe_runs": total_runs,
        "failed_runs": failed_runs,
        "incidents_opened": opened,
        "incidents_per_10_min": round(opened / windows, 3),
        "windows_with_an_incident": noisy_windows,
        # Three 1-in-20 failures in a row somewhere in 40 runs: about 0.45 % of windows.
        "expected_windows_with_an_incident": round(windows * 38 * 0.05**3 * 0.95, 2),
        "target_per_10_min": 0,
        "real_seconds": round(took, 1),
        "clock": "simulated (fake clock; probes ran for real against the central system)",
    }


def main() -> None:
    """Run both parts and print their numbers as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100, help="10-minute noise windows")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-noise", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pharos-probe-bench-"))
    report: dict[str, Any] = {
        "defaults": {
            "interval_s": 15,
            "failures_to_open": 3,
            "successes_to_recover": 2,
            "timeout_s": 10,
            "propagation_timeout_s": 10,
            "quiet_period_s": 900,
        }
    }
    if not args.skip_detection:
        report["detection_stalled_processing"] = detection(tmp)
        print(json.dumps(report["detection_stalled_processing"]), flush=True)
    if not args.skip_noise:
        report["noise_one_in_twenty"] = noise(tmp, args.windows, args.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

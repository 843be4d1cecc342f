"""Helpers the benchmarks share: ports, waiting for a server, a process's memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PHAROS = Path(sys.executable).parent / "pharos"


def free_port() -> int:
    """A loopback port nobody uses now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, deadline: float = 30) -> None:
    """Wait until url answers."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pharos_env(**settings: str) -> dict[str, str]:
    """This environment without PHAROS_* variables, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHAROS_")}
    env.update({f"PHAROS_{k.upper()}": v for k, v in settings.items()})
    return env


def start_pharos(env: dict[str, str], port: int, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """`pharos serve` on a loopback port, once /healthz answers."""
    server = subprocess.Popen([str(PHAROS), "serve", "--port", str(port), *args], env=env, cwd=cwd)
    wait_http(f"http://127.0.0.1:{port}/healthz", deadline=60)
    return server


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (granian serves from forked worker processes)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids += process_tree(int(child))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

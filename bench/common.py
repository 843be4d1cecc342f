"""Helpers the benchmarks share: ports, waiting for a server, a process's memory."""

from __future__ import annotations

import contextlib
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


def wait_http(
    url: str, deadline: float = 30, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until url answers (or the process serving it has died)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {deadline:.0f} s")


def tree_pids(pid: int) -> list[int]:
    """A process and its descendants (granian serves from child processes)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(parents.get(current, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its descendants so far (from /proc)."""
    total = 0
    for one in tree_pids(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process, from /proc; of the largest process in its tree
    (granian serves from a child process)."""
    peaks = []
    for one in tree_pids(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=float("nan"))


def pharos_env(**settings: str) -> dict[str, str]:
    """This environment without PHAROS_* variables, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHAROS_")}
    env.update({f"PHAROS_{k.upper()}": v for k, v in settings.items()})
    return env


def start_pharos(
    env: dict[str, str], port: int, cwd: Path, *args: str, deadline: float = 300
) -> subprocess.Popen[bytes]:
    """`pharos serve` on a loopback port, once /healthz answers (a loaded machine may take
    minutes to start it; a server that dies is reported at once)."""
    server = subprocess.Popen([str(PHAROS), "serve", "--port", str(port), *args], env=env, cwd=cwd)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", deadline=deadline, process=server)
    except BaseException:
        server.terminate()
        server.wait(timeout=20)
        raise
    return server

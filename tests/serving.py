"""Running `pharos` as a real process on loopback, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PHAROS = Path(sys.executable).parent / "pharos"
STARTUP_DEADLINE = 60.0  # seconds (a loaded machine starts slowly; a healthy one in ~2 s)


@dataclass(frozen=True)
class Server:
    """A running `pharos serve` and the environment it was started with."""

    url: str
    env: dict[str, str] = field(repr=False)  # keep the environment out of failure reports
    process: subprocess.Popen[bytes]
    stderr: Path


def pharos_env(database: Path, public_url: str, **settings: str) -> dict[str, str]:
    """This process's environment with only the PHAROS_* settings under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHAROS_")}
    env.update(
        PHAROS_DATABASE_URL=f"sqlite:///{database}",
        PHAROS_PAGE_NAME="Zaptec",
        PHAROS_PUBLIC_URL=public_url,
        PHAROS_TIMEZONE="Europe/Oslo",
    )
    env.update({f"PHAROS_{k.upper()}": v for k, v in settings.items()})
    return env


def start(env: dict[str, str], port: int, workdir: Path, name: str = "serve", *args: str) -> Server:
    """Start `pharos serve` (with extra arguments) and wait until /healthz answers."""
    stderr = workdir / f"{name}.stderr"
    with stderr.open("ab") as err:
        process = subprocess.Popen(
            [str(PHAROS), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = Server(url=f"http://127.0.0.1:{port}", env=env, process=process, stderr=stderr)
    try:
        wait_until_healthy(server)
    except BaseException:
        stop(process)
        raise
    return server


def wait_until_healthy(server: Server) -> None:
    """Poll /healthz until it answers, or fail with the server's stderr."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"pharos serve exited with {server.process.returncode}:\n"
                f"{server.stderr.read_text()}"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"pharos serve did not answer /healthz in time:\n{server.stderr.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, killing it if it doesn't stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def pharos(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run a `pharos` command to success (or fail the test with its stderr); its stdout."""
    done = subprocess.run(
        [str(PHAROS), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def create_token(env: dict[str, str], name: str = "e2e") -> str:
    """A staff token made with `pharos tokens create` (its last output line)."""
    return pharos(env, "tokens", "create", name, timeout=60).strip().splitlines()[-1].strip()

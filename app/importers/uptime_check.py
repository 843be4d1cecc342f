"""After an import: the uptime Pharos computes from the imported history, beside Statuspage's
own figures for the same days (its component uptime endpoint), in the report."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import Session

from app.config import Settings
from app.importers.keys import Checkpoint
from app.importers.report import ImportReport
from app.importers.source import SourceComponent
from app.importers.statuspage_api import StatuspageClient
from app.models import Component, ComponentStatus
from app.uptime import service as uptime


class SourceUptime(BaseModel):
    """Statuspage's uptime figures of one component over a range of days."""

    range_start: date
    range_end: date
    uptime_percentage: float
    major_outage: int = 0
    partial_outage: int = 0


def check_uptime(
    session: Session,
    client: StatuspageClient,
    base: str,
    everything: list[SourceComponent],
    ids: dict[str, str],
    settings: Settings,
    now: datetime,
    report: ImportReport,
    *,
    checkpoint: Checkpoint,
) -> None:
    """Compare each showcased component's uptime here with Statuspage's, over its range."""
    weights = uptime.weights_of(settings)
    checkpoint()  # no transaction open across the requests
    answers = [
        (c, client.get_json(f"{base}/components/{c.id}/uptime", missing_ok=True))
        for c in everything
        if not c.group and c.showcase and c.id in ids
    ]
    for c, raw in answers:
        if not isinstance(raw, dict):
            continue
        try:
            theirs = SourceUptime.model_validate(
                {
                    **raw,
                    "range_start": str(raw.get("range_start", ""))[:10],
                    "range_end": str(raw.get("range_end", ""))[:10],
                }
            )
        except ValueError:
            report.notes.append(f"uptime of {c.name!r}: Statuspage's answer was not understood")
            continue
        component = session.get(Component, ids[c.id])
        if component is None:
            continue
        last = min(theirs.range_end, now.astimezone(settings.tz).date())
        days = uptime.daily_figures(
            session,
            [component],
            first_day=theirs.range_start,
            last_day=last,
            now=now,
            tz=settings.tz,
        )[component.id]
        ours = uptime.period_percent(days, weights)
        major = sum(d.us[ComponentStatus.major_outage] for d in days) // 1_000_000
        partial = sum(d.us[ComponentStatus.partial_outage] for d in days) // 1_000_000
        same = ours is not None and abs(ours - theirs.uptime_percentage) < 0.01
        report.uptime.append(
            f"{c.name}: Statuspage {theirs.uptime_percentage:.2f}% ({theirs.major_outage} s major, "
            f"{theirs.partial_outage} s partial outage), Pharos "
            f"{'-' if ours is None else f'{ours:.2f}'}% ({major} s, {partial} s) "
            f"from {theirs.range_start} to {theirs.range_end}: {'same' if same else 'DIFFERENT'}"
        )
    checkpoint()

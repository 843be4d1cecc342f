"""The roll-up: EVSE statuses -> each area's share of failing chargers -> its component's
status, through the probes' hysteresis, so incidents open once, follow the severity and
resolve after the quiet period like any probe's. The incident carries "N of M chargers".

Out of order and inoperative chargers fail; planned and removed ones don't count at all; an
area whose component is under maintenance is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.config import Settings
from app.fleet.config import AreaRule
from app.fleet.store import FAILING, NOT_IN_SERVICE
from app.models import (
    OPEN_STATUSES,
    Component,
    ComponentStatus,
    FleetArea,
    FleetEvse,
    FleetLocation,
    Incident,
    ProbeState,
)
from app.probes import service as probes
from app.probes.outcome import Check, ProbeRun


@dataclass(frozen=True)
class AreaCount:
    """An area's chargers now."""

    name: str
    total: int  # in service (not planned or removed)
    failing: int  # out of order or inoperative

    @property
    def share(self) -> float:
        """Failing chargers' share of those in service."""
        return self.failing / self.total if self.total else 0.0


def list_areas(session: Session) -> list[AreaRule]:
    """Every area, by name."""
    rows = session.exec(select(FleetArea).order_by(col(FleetArea.name)))
    return [AreaRule.model_validate(row.rule) for row in rows]


def matches(rule: AreaRule, location: FleetLocation) -> bool:
    """Whether a location belongs to an area (every criterion given must hold)."""
    checks = (
        (rule.peers, location.peer),
        (rule.countries, location.country),
        (rule.cities, location.city),
        (rule.operators, location.operator),
        (rule.location_ids, location.id),
    )
    return all(not wanted or value in wanted for wanted, value in checks)


def count_areas(session: Session, rules: list[AreaRule]) -> list[AreaCount]:
    """Each area's counts: one grouped query over the EVSEs, one over the published
    locations (plain rows: every page render asks), locations matched in memory."""
    per_location: dict[tuple[str, str], tuple[int, int]] = {}  # (in service, failing)
    grouped = session.exec(
        select(FleetEvse.peer, FleetEvse.location_id, FleetEvse.status, func.count()).group_by(
            col(FleetEvse.peer), col(FleetEvse.location_id), col(FleetEvse.status)
        )
    )
    for peer, location_id, status, n in grouped:
        if status in NOT_IN_SERVICE:
            continue
        total, failing = per_location.get((peer, location_id), (0, 0))
        per_location[(peer, location_id)] = (
            total + n,
            failing + (n if status in FAILING else 0),
        )
    table = FleetLocation.__table__.c  # type: ignore[attr-defined]
    located = session.connection().execute(
        sa.select(table.peer, table.id, table.country, table.city, table.operator).where(
            table.publish
        )
    )
    locations = [(row, per_location.get((row[0], row[1]), (0, 0))) for row in located]
    found = []
    for rule in rules:
        # Which row columns must hold which values (as `matches`, on plain rows).
        wanted = [
            (column, values)
            for column, values in (
                (0, rule.peers),
                (1, rule.location_ids),
                (2, rule.countries),
                (3, rule.cities),
                (4, rule.operators),
            )
            if values
        ]
        total = failing = 0
        for row, (in_service, failing_here) in locations:
            if all(row[column] in values for column, values in wanted):
                total += in_service
                failing += failing_here
        found.append(AreaCount(rule.name, total, failing))
    return found


def judge(rule: AreaRule, count: AreaCount) -> ComponentStatus:
    """The component status an area's share of failing chargers calls for."""
    if count.failing < rule.min_failing or count.total == 0:
        return ComponentStatus.operational
    if count.share >= rule.major:
        return ComponentStatus.major_outage
    if count.share >= rule.partial:
        return ComponentStatus.partial_outage
    if count.share >= rule.degraded:
        return ComponentStatus.degraded_performance
    return ComponentStatus.operational


def _as_probe(rule: AreaRule, count: AreaCount) -> AreaRule:
    name = rule.incident_name or "Charging unavailable at some sites in {component}"
    body = rule.incident_body or (
        f"{count.failing} of {count.total} chargers in {{component}} are out of order. "
        "Other chargers work normally. We are investigating."
    )
    return rule.model_copy(
        update={"name": rule.state_name, "incident_name": name, "incident_body": body}
    )


def evaluate(session: Session, *, settings: Settings, now: datetime) -> list[AreaCount]:
    """Judge every area once: feed the hysteresis, keep the impact on its incident current,
    and resolve incidents whose quiet period has passed. One transaction (the caller's)."""
    rules = list_areas(session)
    counts = count_areas(session, rules)
    probes.sync_states(
        session, [_as_probe(r, c) for r, c in zip(rules, counts, strict=True)], now=now
    )
    for rule, count in zip(rules, counts, strict=True):
        state = session.get(ProbeState, rule.state_name)
        component = session.get(Component, state.component_id) if state else None
        if state is None or component is None:
            continue
        if component.status == ComponentStatus.under_maintenance:
            continue  # planned work: no verdict, the counters wait
        status = judge(rule, count)
        detail = f"{count.failing} of {count.total} chargers failing ({count.share:.1%})"
        check = Check("chargers", rule.name, status == ComponentStatus.operational, None, None)
        check.detail = detail
        if not check.ok:
            check.error_class = "chargers_failing"
        run = ProbeRun(rule.state_name, status, [check], None if check.ok else "chargers")
        run.chargers = None if check.ok else (count.failing, count.total)
        probes.record_run(session, _as_probe(rule, count), run, settings=settings, now=now)
        incident = session.get(Incident, state.incident_id) if state.incident_id else None
        driving = status != ComponentStatus.operational  # a recovery keeps the last count
        if incident and incident.automated and incident.status in OPEN_STATUSES and driving:
            incident.chargers_affected, incident.chargers_total = count.failing, count.total
            session.add(incident)
        if state.incident_id:
            probes.settle_incident(
                session,
                state.incident_id,
                {rule.state_name: rule.quiet_period},
                settings=settings,
                now=now,
            )
    session.flush()
    return counts


def component_counts(session: Session) -> dict[str, AreaCount]:
    """Each rolled-up component's chargers now (for the status page), by component id."""
    rules = list_areas(session)
    if not rules:
        return {}
    states = {
        s.name: s.component_id
        for s in session.exec(
            select(ProbeState).where(col(ProbeState.name).in_([r.state_name for r in rules]))
        )
    }
    found: dict[str, AreaCount] = {}
    for rule, count in zip(rules, count_areas(session, rules), strict=True):
        component_id = states.get(rule.state_name)
        if component_id and count.total:
            found[component_id] = count
    return found

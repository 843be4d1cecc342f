"""Probe use cases: record a result, act on incidents through the incident services, and
resolve after a quiet period.

Every automatic action goes through app.incidents.service / app.components.service (actor
"probe:<name>") and is audited with the probe's evidence in the same transaction. A decision is
one transaction: the result, the counters, the incident and the probe's link to it commit
together or not at all (the runner's job commits; nothing here does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, select

from app import data_version
from app.audit import service as audit
from app.clock import Clock
from app.components import service as components
from app.components.schemas import ComponentCreate, ComponentUpdate
from app.config import Settings
from app.db import get_one
from app.incidents import service as incidents
from app.incidents.schemas import IncidentCreate, UpdateCreate
from app.models import (
    OPEN_STATUSES,
    AffectedComponent,
    Component,
    ComponentStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    ProbeResult,
    ProbeState,
)
from app.probes import latency, rules, wording
from app.probes.config import ProbeBase
from app.probes.outcome import ProbeRun

ACTOR_PREFIX = "probe:"
RESULTS_KEPT = timedelta(days=30)
CERT_WARN_DAYS = 14  # staff are warned this long before a backend's certificate expires
MAINTENANCE_UNDER_WAY = (IncidentStatus.in_progress, IncidentStatus.verifying)


def actor(probe_name: str) -> str:
    """The audit actor of a probe's automatic actions."""
    return f"{ACTOR_PREFIX}{probe_name}"


def ensure_component(session: Session, ref: str, *, now: datetime) -> Component:
    """The component a probe watches, by id or by name; created if there is none."""
    found = session.get(Component, ref)
    if found is None:
        named = select(Component).where(Component.name == ref).where(~col(Component.is_group))
        found = session.exec(named.order_by(col(Component.created_at))).first()
    if found is not None:
        return found
    data = ComponentCreate(name=ref, description="Watched by Pharos probes")
    return components.create_component(session, data=data, actor=actor("config"), now=now)


def sync_states(session: Session, probes: Sequence[ProbeBase], *, now: datetime) -> None:
    """Create or refresh each probe's state row (component and group may have changed)."""
    for probe in probes:
        component = ensure_component(session, probe.component, now=now)
        state = session.get(ProbeState, probe.name)
        if state is None:
            state = ProbeState(name=probe.name, backend_group=probe.backend_group)
        state.component_id = component.id
        state.backend_group = probe.backend_group
        _publish_latency(session, state, probe)
        session.add(state)
    session.flush()


def _publish_latency(session: Session, state: ProbeState, probe: ProbeBase) -> None:
    """Take in the probe's public_latency setting; when it flips, the public pages change (a
    chart and its link appear or go), so they are rendered again at once."""
    if state.public_latency != probe.public_latency:
        state.public_latency = probe.public_latency
        data_version.changes_public_view(session)


def _counters(state: ProbeState) -> rules.Counters:
    return rules.Counters(
        active=state.active,
        failures=state.failures,
        successes=state.successes,
        failing_since=state.failing_since,
        pending=state.pending,
        pending_count=state.pending_count,
    )


def _thresholds(probe: ProbeBase) -> rules.Thresholds:
    failing_for = None if probe.failing_for is None else timedelta(seconds=probe.failing_for)
    return rules.Thresholds(probe.failures_to_open, probe.successes_to_recover, failing_for)


def _open_incident_of_group(session: Session, state: ProbeState) -> Incident | None:
    """The open incident this probe's backend group already drives, if any."""
    ids = session.exec(
        select(ProbeState.incident_id)
        .where(ProbeState.backend_group == state.backend_group)
        .where(col(ProbeState.incident_id).is_not(None))
    ).all()
    for incident_id in sorted({i for i in ids if i}, key=lambda i: i != state.incident_id):
        incident = session.get(Incident, incident_id)
        if incident is not None and incident.status in OPEN_STATUSES:
            return incident
    return None


def _lock_group(session: Session, name: str) -> ProbeState:
    """This probe's state, with the states of every probe of its backend group locked for the
    rest of the transaction (in name order, as settle_incident locks them, so that two
    transactions wait for each other instead of deadlocking).

    The probes of a group share one incident: two of them deciding at once, each blind to
    what the other has not committed yet, would open two incidents for one problem, or each
    say the other is still failing and never reach Monitoring. So they decide one at a time,
    each seeing what the last one did."""
    group = select(ProbeState.backend_group).where(ProbeState.name == name).scalar_subquery()
    states = session.exec(
        select(ProbeState)
        .where(ProbeState.backend_group == group)  # (its own row is in its own group)
        .order_by(col(ProbeState.name))
        .with_for_update()
    ).all()
    for state in states:
        if state.name == name:
            return state
    raise LookupError(f"probe {name!r} has no state (sync_states makes it)")


def record_run(
    session: Session,
    probe: ProbeBase,
    run: ProbeRun,
    *,
    settings: Settings,
    now: datetime | Clock,
) -> rules.Decision:
    """Store one result, apply the hysteresis, and act on the incident; one transaction.

    Given a clock, "now" is read once the group's states are locked (`_lock_group`), so that
    the updates of a group's incident are timed in the order they are made."""
    state = _lock_group(session, probe.name)
    now = now() if callable(now) else now
    evidence = run.evidence()
    counters = _counters(state)
    before = counters.active
    decision = rules.observe(counters, run.status, now, _thresholds(probe))
    silencer = None
    if decision in (rules.Decision.open, rules.Decision.change) and state.component_id:
        silencer = maintenance_silencing(session, state.component_id, now=now)
    if silencer is not None:
        # Planned work: keep counting, declare nothing. The problem stays unconfirmed, so the
        # first unhealthy result after the window opens (or changes) the incident then.
        counters.active, counters.pending, counters.pending_count = before, None, 0
        decision = rules.Decision.none
        evidence["silenced_by_maintenance"] = silencer
        if state.silenced_by != silencer:
            _audit(session, state, "silenced", evidence, now)
    state.silenced_by = silencer
    session.add(
        ProbeResult(
            probe=probe.name,
            at=now,
            status=run.status,
            latency_ms=run.latency_ms,
            error_classes=run.error_classes,
            evidence=evidence,
        )
    )
    state.active, state.failures, state.successes = (
        counters.active,
        counters.failures,
        counters.successes,
    )
    state.failing_since, state.pending = counters.failing_since, counters.pending
    state.pending_count = counters.pending_count
    if run.cert is not None:
        state.cert_expires_at = datetime.fromisoformat(str(run.cert["not_after"]))
        state.cert_subject = str(run.cert.get("subject") or "")[:255] or None
    state.last_run_at, state.last_status = now, run.status
    state.last_latency_ms, state.last_error_classes = run.latency_ms, run.error_classes
    _publish_latency(session, state, probe)
    session.add(state)
    latency.record(session, probe.name, run, now=now)
    component = session.get(Component, state.component_id) if state.component_id else None
    if decision == rules.Decision.none or component is None:
        return decision
    if decision == rules.Decision.recover:
        _recover(session, state, component, evidence, settings=settings, now=now)
    else:
        _declare(session, state, probe, component, run, evidence, settings=settings, now=now)
    return decision


def maintenance_silencing(session: Session, component_id: str, *, now: datetime) -> str | None:
    """The id of a maintenance under way on this component, if any: in progress or
    verifying, or scheduled with its window begun and not yet over."""
    named = (
        select(IncidentUpdate.incident_id)
        .join(AffectedComponent, col(AffectedComponent.incident_update_id) == IncidentUpdate.id)
        .where(AffectedComponent.component_id == component_id)
    )
    window_on = (
        (col(Incident.status) == IncidentStatus.scheduled)
        & (col(Incident.scheduled_for) <= now)
        & (col(Incident.scheduled_until) > now)
    )
    found = session.exec(
        select(Incident.id)
        .where(col(Incident.scheduled_for).is_not(None))
        .where(col(Incident.status).in_(MAINTENANCE_UNDER_WAY) | window_on)
        .where(col(Incident.id).in_(named))
        .order_by(col(Incident.scheduled_for))
        .limit(1)
    ).first()
    return None if found is None else str(found)


def _audit(
    session: Session, state: ProbeState, action: str, evidence: dict[str, Any], now: datetime
) -> None:
    audit.record(
        session,
        actor(state.name),
        f"probe.{action}",
        state.name,
        at=now,
        data={"incident_id": state.incident_id, "evidence": evidence},
    )


def _set_component(
    session: Session,
    state: ProbeState,
    component: Component,
    status: ComponentStatus,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """Keep the component current without speaking on an incident staff own."""
    components.update_component(
        session,
        component.id,
        data=ComponentUpdate(status=status),
        settings=settings,
        actor=actor(state.name),
        now=now,
    )


def _declare(
    session: Session,
    state: ProbeState,
    probe: ProbeBase,
    component: Component,
    run: ProbeRun,
    evidence: dict[str, Any],
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """A problem is confirmed or changed severity: the component and one incident say so."""
    status = state.active
    incident = _open_incident_of_group(session, state)
    state.recovered_at = None
    if incident is None:
        name, body = wording.opening(
            run.problem,
            component=component.name,
            probe=probe.name,
            name=probe.incident_name,
            body=probe.incident_body,
        )
        data = IncidentCreate(
            name=name, body=body, components={component.id: status}, **_impact(run)
        )
        opened = incidents.open_incident(
            session, data=data, settings=settings, actor=actor(probe.name), now=now, automated=True
        )
        link_incident(session, state, opened.id)
        _audit(session, state, "incident_opened", evidence, now)
        return
    joining = state.incident_id != incident.id
    state.incident_id = incident.id
    session.add(state)
    if not incident.automated:
        _audit(session, state, "component_status", evidence, now)
        _set_component(session, state, component, status, settings=settings, now=now)
        return
    if incident.status == IncidentStatus.monitoring:
        body, new_status = wording.relapsed(component.name), IncidentStatus.investigating
    elif joining:
        body, new_status = wording.joined(component.name, status), incident.status
    else:
        body, new_status = wording.severity_changed(component.name, status), incident.status
    _audit(session, state, "incident_updated", evidence, now)
    update = UpdateCreate(
        status=new_status, body=body, components={component.id: status}, **_impact(run)
    )
    incidents.post_update(
        session,
        incident.id,
        data=update,
        settings=settings,
        actor=actor(state.name),
        now=now,
        automated=True,
    )


def _impact(run: ProbeRun) -> dict[str, int]:
    """A roll-up's charger counts for the incident (nothing for other probes)."""
    if run.chargers is None:
        return {}
    return {"chargers_affected": run.chargers[0], "chargers_total": run.chargers[1]}


def link_incident(session: Session, state: ProbeState, incident_id: str) -> None:
    """Remember the incident this probe drives (in the transaction that opened it)."""
    state.incident_id = incident_id
    session.add(state)
    session.flush()


def _recover(
    session: Session,
    state: ProbeState,
    component: Component,
    evidence: dict[str, Any],
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """The problem is over: the component is operational; Monitoring once all are."""
    state.recovered_at = now
    incident = session.get(Incident, state.incident_id) if state.incident_id else None
    if incident is None or incident.status not in OPEN_STATUSES:
        state.incident_id = None
        session.add(state)
        if component.status != ComponentStatus.operational:
            _audit(session, state, "component_status", evidence, now)
            _set_component(session, state, component, rules.OK, settings=settings, now=now)
        return
    session.add(state)
    if not incident.automated:
        _audit(session, state, "component_status", evidence, now)
        _set_component(session, state, component, rules.OK, settings=settings, now=now)
        return
    still_failing = session.exec(
        select(ProbeState.name)
        .where(ProbeState.incident_id == incident.id)
        .where(ProbeState.name != state.name)
        .where(ProbeState.active != rules.OK)
    ).first()
    if still_failing is not None:
        body, new_status = wording.partly_recovered(component.name), incident.status
    else:
        body, new_status = wording.MONITORING, IncidentStatus.monitoring
    _audit(session, state, "recovered", evidence, now)
    update = UpdateCreate(status=new_status, body=body, components={component.id: rules.OK})
    incidents.post_update(
        session,
        incident.id,
        data=update,
        settings=settings,
        actor=actor(state.name),
        now=now,
        automated=True,
    )


def linked_incidents(session: Session) -> list[str]:
    """Ids of the incidents probes drive, for settle_incident (one transaction each)."""
    linked = session.exec(
        select(ProbeState.incident_id).where(col(ProbeState.incident_id).is_not(None))
    )
    return sorted({str(i) for i in linked})


def settle_incident(
    session: Session,
    incident_id: str,
    quiet: dict[str, float],
    *,
    settings: Settings,
    now: datetime,
) -> bool:
    """Resolve an automatic incident whose probes all stayed healthy for their quiet period.

    `quiet` maps probe names to their quiet period in seconds. Incidents staff spoke on are
    left to staff; closed ones are let go. Returns whether the incident was resolved.
    """
    states = list(
        session.exec(
            select(ProbeState)
            .where(ProbeState.incident_id == incident_id)
            .order_by(col(ProbeState.name))
            .with_for_update()
        )
    )
    incident = session.get(Incident, incident_id)
    if not states:
        return False
    if incident is None or incident.status not in OPEN_STATUSES:
        _let_go(session, states, settings=settings, now=now)
        return False
    if incident.status != IncidentStatus.monitoring or not incident.automated:
        return False
    if any(s.active != rules.OK or s.recovered_at is None for s in states):
        return False
    since = max(s.recovered_at for s in states if s.recovered_at is not None)
    wait = max(quiet.get(s.name, 900.0) for s in states)
    if now - since < timedelta(seconds=wait):
        return False
    for state in states:
        state.incident_id = None
        session.add(state)
    _audit(session, states[0], "incident_resolved", {"incident_id": incident_id}, now)
    update = UpdateCreate(status=IncidentStatus.resolved, body=wording.RESOLVED)
    incidents.post_update(
        session,
        incident_id,
        data=update,
        settings=settings,
        actor=actor(states[0].name),
        now=now,
        automated=True,
    )
    return True


def _let_go(
    session: Session, states: list[ProbeState], *, settings: Settings, now: datetime
) -> None:
    """Staff closed the incident: unlink it, and put components whose problem is still
    there back to the status the probe declared (resolving handed them back)."""
    for state in states:
        state.incident_id = None
        session.add(state)
    session.flush()
    for state in states:
        component = session.get(Component, state.component_id) if state.component_id else None
        if component is not None and state.active not in (rules.OK, component.status):
            _audit(session, state, "component_status", {"still": state.active.value}, now)
            _set_component(session, state, component, state.active, settings=settings, now=now)


def prune_results(session: Session, *, now: datetime) -> None:
    """Forget results older than the retention period."""
    session.exec(delete(ProbeResult).where(col(ProbeResult.at) < now - RESULTS_KEPT))
    latency.prune(session, now=now)


def still_to_confirm(session: Session, probe: ProbeBase) -> int:
    """Re-probes the decision under way still needs (after record_run, same transaction)."""
    state = session.get(ProbeState, probe.name)
    if state is None:
        return 0
    return rules.still_to_confirm(_counters(state), _thresholds(probe))


def get_state(session: Session, name: str) -> ProbeState:
    """One probe's state, or NotFound."""
    return get_one(session, ProbeState, name, "probe")


def list_states(session: Session) -> list[ProbeState]:
    """Every probe's state, by name."""
    return list(session.exec(select(ProbeState).order_by(col(ProbeState.name))))


def states_with_links(
    session: Session,
) -> list[tuple[ProbeState, Component | None, Incident | None]]:
    """Every probe's state, by name, with its component and the incident it drives (one query)."""
    stmt = (
        select(ProbeState, Component, Incident)
        .join(Component, col(Component.id) == ProbeState.component_id, isouter=True)
        .join(Incident, col(Incident.id) == ProbeState.incident_id, isouter=True)
        .order_by(col(ProbeState.name))
    )
    return [(state, component, incident) for state, component, incident in session.exec(stmt)]


def recent_results(session: Session, probe_name: str, *, limit: int) -> list[ProbeResult]:
    """A probe's latest results, newest first."""
    stmt = (
        select(ProbeResult)
        .where(ProbeResult.probe == probe_name)
        .order_by(col(ProbeResult.at).desc(), col(ProbeResult.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))

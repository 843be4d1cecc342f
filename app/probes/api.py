"""Staff API for probes: /api/v1/probes (state, recent results with their evidence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from app.auth.deps import StaffDep
from app.models import ProbeState
from app.probes import service
from app.probes.schemas import ProbeResultPublic, ProbeStatePublic

router = APIRouter(prefix="/api/v1/probes", tags=["probes"])


def _present(state: ProbeState, results: list[ProbeResultPublic]) -> ProbeStatePublic:
    return ProbeStatePublic(
        name=state.name,
        component_id=state.component_id,
        backend_group=state.backend_group,
        active_status=state.active,
        consecutive_failures=state.failures,
        consecutive_successes=state.successes,
        failing_since=state.failing_since,
        incident_id=state.incident_id,
        recovered_at=state.recovered_at,
        last_run_at=state.last_run_at,
        last_status=state.last_status,
        last_latency_ms=state.last_latency_ms,
        last_error_classes=state.last_error_classes,
        recent_results=results,
    )


def _results(session: Session, name: str, limit: int) -> list[ProbeResultPublic]:
    rows = service.recent_results(session, name, limit=limit)
    return [ProbeResultPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("")
def list_probes(
    staff: StaffDep,
    results: Annotated[int, Query(ge=0, le=100, description="Recent results per probe")] = 10,
) -> list[ProbeStatePublic]:
    """Every probe's state with its latest results, newest first."""
    session = staff.session
    return [_present(s, _results(session, s.name, results)) for s in service.list_states(session)]


@router.get("/{name}")
def get_probe(
    name: str,
    staff: StaffDep,
    results: Annotated[int, Query(ge=0, le=1000, description="Recent results")] = 100,
) -> ProbeStatePublic:
    """One probe's state and a longer run of results (for latency charts)."""
    state = service.get_state(staff.session, name)
    return _present(state, _results(staff.session, name, results))

"""Staff API for probes: /api/v1/probes (state, recent results with their evidence), and the
probes staff manage: create, change, pause, resume, delete, and run one now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import WithJsonSchema
from sqlmodel import Session

from app.auth.deps import Staff, StaffDep
from app.errors import beyond_schema
from app.models import ProbeState
from app.probes import definitions, manual, service
from app.probes.config import KIND_NAMES
from app.probes.schemas import ProbeResultPublic, ProbeRunPublic, ProbeStatePublic

router = APIRouter(prefix="/api/v1/probes", tags=["probes"])
# What every kind's table has; the rest depends on the kind (README, "Probes").
_COMMON = {
    "name": {"type": "string", "minLength": 1, "maxLength": 64},
    "kind": {"type": "string", "enum": sorted(KIND_NAMES)},
    "component": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "description": "Component name or id",
    },
}
Table = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {"type": "object", "required": ["name", "kind", "component"], "properties": _COMMON}
    ),
    Body(
        description="The probe's table in the probes file's shape (name, kind, component, "
        "url, ...), as JSON",
        examples=[
            {
                "name": "ocpp-backend",
                "kind": "ocpp201",
                "component": "Cloud Services (OCPP)",
                "url": "wss://csms.example.com/ocpp",
                "charge_point_ids": ["PHAROS-PROBE-1"],
            }
        ],
    ),
]
Changes = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "properties": {"kind": _COMMON["kind"]}}),
    Body(
        description="Fields to change, in the probes file's shape; null removes one (its "
        "default applies), a masked password (`********`) keeps the stored one",
    ),
]


def _present(
    state: ProbeState,
    results: list[ProbeResultPublic],
    about: dict[str, tuple[str, bool, bool, dict[str, Any] | None]],
) -> ProbeStatePublic:
    source, paused, shadowed, table = about.get(
        state.name, ("area" if state.name.startswith("area:") else "file", False, False, None)
    )
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
        source=source,
        paused=paused,
        shadowed=shadowed,
        definition=table,
        silenced_by=state.silenced_by,
        cert_expires_at=state.cert_expires_at,
        cert_subject=state.cert_subject,
        recent_results=results,
    )


def _results(session: Session, name: str, limit: int) -> list[ProbeResultPublic]:
    rows = service.recent_results(session, name, limit=limit)
    return [ProbeResultPublic.model_validate(r, from_attributes=True) for r in rows]


def _one(staff: Staff, name: str, results: int = 10) -> ProbeStatePublic:
    state = service.get_state(staff.session, name)
    about = definitions.describe(staff.session, staff.settings)
    return _present(state, _results(staff.session, name, results), about)


@router.get("")
def list_probes(
    staff: StaffDep,
    results: Annotated[int, Query(ge=0, le=100, description="Recent results per probe")] = 10,
) -> list[ProbeStatePublic]:
    """Every probe's state with its latest results, newest first."""
    session = staff.session
    about = definitions.describe(session, staff.settings)
    return [
        _present(s, _results(session, s.name, results), about) for s in service.list_states(session)
    ]


TABLE_RULES = beyond_schema(
    "a field the probe's kind does not take, or a value it refuses (the probes file's rules: "
    "durations like '15s', URLs of the kind's scheme, security profiles that match the "
    "credentials given, ...)",
    "a new name (a probe can't be renamed)",
    "a NUL character anywhere in the body",
)


@router.post("", status_code=status.HTTP_201_CREATED, responses=TABLE_RULES)
def create_probe(table: Table, staff: StaffDep, response: Response) -> ProbeStatePublic:
    """Add a probe (any kind the probes file takes); it runs from the runner's next round.
    409 when the name is taken, here or in the probes file (which wins)."""
    definition = definitions.create(
        staff.session, table, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    response.headers["Location"] = router.url_path_for("get_probe", name=definition.name)
    return _one(staff, definition.name)


@router.get("/{name}")
def get_probe(
    name: str,
    staff: StaffDep,
    results: Annotated[int, Query(ge=0, le=1000, description="Recent results")] = 100,
) -> ProbeStatePublic:
    """One probe's state and a longer run of results (for latency charts)."""
    return _one(staff, name, results)


@router.patch("/{name}", responses=TABLE_RULES)
def update_probe(name: str, table: Changes, staff: StaffDep) -> ProbeStatePublic:
    """Change fields of a managed probe (null removes one; a masked secret is kept)."""
    definitions.update(
        staff.session, name, table, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    return _one(staff, name)


@router.post("/{name}/pause")
def pause_probe(name: str, staff: StaffDep) -> ProbeStatePublic:
    """Stop running a managed probe (its state and incident link are kept)."""
    definitions.set_paused(
        staff.session, name, True, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    return _one(staff, name)


@router.post("/{name}/resume")
def resume_probe(name: str, staff: StaffDep) -> ProbeStatePublic:
    """Run a paused probe again."""
    definitions.set_paused(
        staff.session, name, False, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    return _one(staff, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_probe(name: str, staff: StaffDep) -> Response:
    """Delete a managed probe and its state; an incident it drove stays open for staff."""
    definitions.remove(
        staff.session, name, settings=staff.settings, actor=staff.actor, now=staff.now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/run")
def run_probe(name: str, staff: StaffDep) -> ProbeRunPublic:
    """Run a probe once now and answer what it found. The result is recorded and counted by
    the rules like a scheduled one, unless the probe is paused."""
    return manual.run_and_record(
        staff.session, staff.settings, name, actor=staff.actor, now=staff.now
    )

"""Keeping OCPI Locations and EVSEs: insert or update them, and log every status an EVSE
enters. Services only flush; the probe run or the receiver request owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.fleet.ocpi import OcpiError, parse_time
from app.models import EvseStatusChange, FleetEvse, FleetLocation

STATUSES = frozenset(
    {
        "AVAILABLE",
        "BLOCKED",
        "CHARGING",
        "INOPERATIVE",
        "OUTOFORDER",
        "PLANNED",
        "REMOVED",
        "RESERVED",
        "UNKNOWN",
    }
)
FAILING = frozenset({"OUTOFORDER", "INOPERATIVE"})
NOT_IN_SERVICE = frozenset({"PLANNED", "REMOVED"})  # planned or gone: never a failure


@dataclass
class Applied:
    """What a batch of OCPI objects changed."""

    locations: int = 0
    evses: int = 0
    status_changes: int = 0


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _power_kw(evse: dict[str, Any]) -> float | None:
    powers: list[float] = []
    for connector in evse.get("connectors") or []:
        watts = connector.get("max_electric_power") if isinstance(connector, dict) else None
        if isinstance(watts, int | float) and not isinstance(watts, bool):
            powers.append(float(watts))
    return max(powers) / 1000 if powers else None


def _status(value: Any) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise OcpiError("protocol", f"unknown EVSE status {value!r}")
    return value


def set_evse_status(
    session: Session, evse: FleetEvse, status: str, at: datetime, *, now: datetime
) -> bool:
    """Move an EVSE to a status as of `at` (the platform's last_updated); logs the change.

    An update older than what we know is ignored (pushes and reads may cross).
    """
    if at < evse.last_updated and evse.id is not None:
        return False
    evse.last_updated = max(at, evse.last_updated)
    if evse.status == status and evse.id is not None:
        session.add(evse)
        return False
    evse.status, evse.status_since = status, min(at, now)
    session.add(evse)
    if evse.id is None:
        session.flush()
    assert evse.id is not None
    session.add(EvseStatusChange(evse_id=evse.id, status=status, at=evse.status_since))
    return True


def evses_of(session: Session, peer: str, location_id: str) -> list[FleetEvse]:
    """A location's EVSEs, by uid."""
    rows = session.exec(
        select(FleetEvse)
        .where(FleetEvse.peer == peer)
        .where(FleetEvse.location_id == location_id)
        .order_by(col(FleetEvse.uid))
    )
    return list(rows)


def apply_evse(
    session: Session,
    peer: str,
    location_id: str,
    data: dict[str, Any],
    *,
    known: FleetEvse | None,
    now: datetime,
    partial: bool = False,
    new: list[FleetEvse] | None = None,
) -> FleetEvse:
    """Insert or update one EVSE from an OCPI EVSE object (or a PATCH of some fields).

    With `new`, a new EVSE is only added (and listed there); log_first_statuses writes its
    first status after one flush for all of them (a full read of thousands of EVSEs).
    """
    at = parse_time(data["last_updated"]) if "last_updated" in data else now
    evse = known
    if evse is None:
        uid = data.get("uid")
        if not isinstance(uid, str) or not uid:
            raise OcpiError("protocol", "an EVSE without a uid")
        evse = FleetEvse(
            peer=peer,
            location_id=location_id,
            uid=uid[:36],
            status=_status(data.get("status")),
            status_since=min(at, now),
            last_updated=at,
        )
    if not partial or "evse_id" in data:
        evse.evse_id = _text(data.get("evse_id"), 48)
    if not partial or "connectors" in data:
        evse.max_power_kw = _power_kw(data)
    if known is None:
        session.add(evse)
        if new is not None:  # the caller logs the first status once ids are known
            new.append(evse)
            return evse
        session.flush()
        assert evse.id is not None
        session.add(EvseStatusChange(evse_id=evse.id, status=evse.status, at=evse.status_since))
    elif "status" in data:
        set_evse_status(session, evse, _status(data["status"]), at, now=now)
    else:
        session.add(evse)
    return evse


def apply_location(
    session: Session, peer: str, data: dict[str, Any], *, now: datetime, partial: bool = False
) -> Applied:
    """Insert or update a Location and its EVSEs from an OCPI Location object."""
    location_id = data.get("id")
    if not isinstance(location_id, str) or not location_id:
        raise OcpiError("protocol", "a Location without an id")
    location = session.get(FleetLocation, (peer, location_id))
    at = parse_time(data["last_updated"]) if "last_updated" in data else now
    if location is None:
        if partial:
            raise OcpiError("ocpi_2003", f"unknown location {location_id!r}")
        location = FleetLocation(
            peer=peer,
            id=location_id[:36],
            country_code=str(data.get("country_code", ""))[:2],
            party_id=str(data.get("party_id", ""))[:3],
            last_updated=at,
        )
    fields = {
        "name": 255,
        "city": 45,
        "country": 3,
    }
    for name, limit in fields.items():
        if not partial or name in data:
            setattr(location, name, _text(data.get(name), limit))
    if not partial or "operator" in data:
        operator = data.get("operator")
        location.operator = _text(operator.get("name"), 255) if isinstance(operator, dict) else None
    if not partial or "publish" in data:
        location.publish = data.get("publish") is not False
    location.last_updated = max(at, location.last_updated)
    session.add(location)
    applied = Applied(locations=1)
    evses = data.get("evses")
    if isinstance(evses, list):
        known = {e.uid: e for e in evses_of(session, peer, location.id)}
        new: list[FleetEvse] = []
        for item in evses:
            if not isinstance(item, dict):
                continue
            before = known.get(str(item.get("uid")))
            old_status = before.status if before else None
            evse = apply_evse(session, peer, location.id, item, known=before, now=now, new=new)
            applied.evses += 1
            applied.status_changes += int(evse.status != old_status)
        log_first_statuses(session, new)
    return applied


def log_first_statuses(session: Session, new: list[FleetEvse]) -> None:
    """Log the first status of EVSEs just added: one flush for all of them."""
    if not new:
        return
    session.flush()
    for evse in new:
        assert evse.id is not None
        session.add(EvseStatusChange(evse_id=evse.id, status=evse.status, at=evse.status_since))


def apply_locations(
    session: Session, peer: str, locations: Iterable[dict[str, Any]], *, now: datetime
) -> Applied:
    """Apply a read of the Locations sender interface."""
    total = Applied()
    for data in locations:
        done = apply_location(session, peer, data, now=now)
        total.locations += done.locations
        total.evses += done.evses
        total.status_changes += done.status_changes
    session.flush()
    return total


def evse_of(session: Session, peer: str, location_id: str, uid: str) -> FleetEvse | None:
    """One EVSE by its OCPI address."""
    return session.exec(
        select(FleetEvse)
        .where(FleetEvse.peer == peer)
        .where(FleetEvse.location_id == location_id)
        .where(FleetEvse.uid == uid)
    ).first()


def status_counts(session: Session) -> list[tuple[FleetLocation, str, int]]:
    """(location, EVSE status, how many) for every published location: one query."""
    stmt = (
        select(FleetLocation, FleetEvse.status, FleetEvse.id)
        .join(
            FleetEvse,
            (col(FleetEvse.peer) == FleetLocation.peer)
            & (col(FleetEvse.location_id) == FleetLocation.id),
        )
        .where(col(FleetLocation.publish))
    )
    counts: dict[tuple[str, str, str], tuple[FleetLocation, int]] = {}
    for location, status, _ in session.exec(stmt):
        key = (location.peer, location.id, status)
        counts[key] = (location, counts.get(key, (location, 0))[1] + 1)
    return [(loc, key[2], n) for key, (loc, n) in counts.items()]

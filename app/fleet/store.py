"""Keeping OCPI Locations and EVSEs: insert or update them, and log every status an EVSE
enters. Services only flush; the probe run or the receiver request owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
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


# A connector's fields its power follows (OCPI 2.2.1 Connector, section 8.3.3).
POWER_FIELDS = ("power_type", "max_voltage", "max_amperage", "max_electric_power")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def connector_watts(connector: dict[str, Any]) -> float | None:
    """A connector's maximum power: max_electric_power when given, else voltage times
    amperage (times 3 on three-phase AC, whose max_voltage is line to neutral)."""
    given = _number(connector.get("max_electric_power"))
    if given is not None:
        return given
    volts, amps = _number(connector.get("max_voltage")), _number(connector.get("max_amperage"))
    if volts is None or amps is None:
        return None
    return volts * amps * (3 if connector.get("power_type") == "AC_3_PHASE" else 1)


def _connectors(evse: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An EVSE object's connectors as we keep them: by id, the fields power follows."""
    kept: dict[str, dict[str, Any]] = {}
    for connector in evse.get("connectors") or []:
        if isinstance(connector, dict) and isinstance(connector.get("id"), str | int):
            fields = {k: connector[k] for k in POWER_FIELDS if k in connector}
            kept[str(connector["id"])[:36]] = fields
    return kept


def _max_kw(connectors: dict[str, dict[str, Any]]) -> float | None:
    powers = [w for w in map(connector_watts, connectors.values()) if w is not None]
    return max(powers) / 1000 if powers else None


def _power_kw(evse: dict[str, Any]) -> float | None:
    return _max_kw(_connectors(evse))


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
    log_status(session, evse.id, status, evse.status_since)
    return True


_LOG = "pharos_fleet_status_log"  # session.info key: status changes to log at the next flush


def log_status(session: Session, evse_id: int, status: str, at: datetime) -> None:
    """Log an EVSE's new status with the next flush, all of a flush's in one INSERT (the ORM
    would insert them one by one to learn ids nobody needs)."""
    pending: list[dict[str, Any]] | None = session.info.get(_LOG)
    if pending is None:
        pending = session.info[_LOG] = []
        if not sa.event.contains(session, "before_flush", _write_log):
            sa.event.listen(session, "before_flush", _write_log)
            sa.event.listen(session, "after_soft_rollback", _forget_log)
    pending.append({"evse_id": evse_id, "status": status, "at": at})


def _write_log(session: Session, _flush: Any, _instances: Any) -> None:
    pending = session.info.pop(_LOG, None)
    if pending:
        session.connection().execute(sa.insert(_STATUS_LOG), pending)


def _forget_log(session: Session, _transaction: Any) -> None:
    session.info.pop(_LOG, None)


_STATUS_LOG = EvseStatusChange.__table__  # type: ignore[attr-defined]


def evses_of(session: Session, peer: str, location_id: str) -> list[FleetEvse]:
    """A location's EVSEs, by uid."""
    rows = session.exec(
        select(FleetEvse)
        .where(FleetEvse.peer == peer)
        .where(FleetEvse.location_id == location_id)
        .order_by(col(FleetEvse.uid))
    )
    return list(rows)


_INDEX = "pharos_fleet_prefetched"  # session.info key: locations and EVSEs loaded ahead


@dataclass
class Prefetched:
    """A location (None: unknown) and EVSEs of it by uid, loaded ahead: all of them
    (`complete`) or those uids in `asked`. Holding them here also keeps them in the session's
    identity map, which only holds objects weakly."""

    location: FleetLocation | None
    evses: dict[str, FleetEvse]
    complete: bool = False
    asked: set[str] = field(default_factory=set)


def prefetch(
    session: Session,
    peer: str,
    location_ids: Iterable[str],
    uids: Iterable[tuple[str, str]] = (),
    bare: Iterable[str] = (),
) -> None:
    """Load these locations with all their EVSEs, the EVSEs addressed by (location id, uid),
    and the `bare` locations without their EVSEs, in a few queries, so applying a batch of
    OCPI objects to them asks the database nothing more (location_of and evse_of answer from
    the session's index) and its changes are flushed together."""
    index: dict[tuple[str, str], Prefetched] = session.info.setdefault(_INDEX, {})
    whole = {loc for loc in location_ids if not _complete(index, peer, loc)}
    some = [(loc, uid) for loc, uid in uids if loc not in whole]
    located = whole | {loc for loc, _ in some} | set(bare)  # `bare`: the location only
    fresh = sorted(located - {k[1] for k in index if k[0] == peer})
    for loc in fresh:
        index[(peer, loc)] = Prefetched(None, {})
    for chunk in _chunks(fresh):
        for location in session.exec(
            select(FleetLocation)
            .where(FleetLocation.peer == peer)
            .where(col(FleetLocation.id).in_(chunk))
        ):
            index[(peer, location.id)].location = location
    for chunk in _chunks(sorted(whole)):
        for evse in session.exec(
            select(FleetEvse)
            .where(FleetEvse.peer == peer)
            .where(col(FleetEvse.location_id).in_(chunk))
        ):
            index[(peer, evse.location_id)].evses.setdefault(evse.uid, evse)
        for loc in chunk:
            index[(peer, loc)].complete = True
    pairs = sorted({(loc, uid) for loc, uid in some if uid not in index[(peer, loc)].asked})
    for batch in _chunks(pairs):
        for evse in session.exec(
            select(FleetEvse)
            .where(FleetEvse.peer == peer)
            .where(sa.tuple_(col(FleetEvse.location_id), col(FleetEvse.uid)).in_(batch))
        ):
            index[(peer, evse.location_id)].evses.setdefault(evse.uid, evse)
        for loc, uid in batch:
            index[(peer, loc)].asked.add(uid)


def _complete(index: dict[tuple[str, str], Prefetched], peer: str, location_id: str) -> bool:
    found = index.get((peer, location_id))
    return found is not None and found.complete


T = TypeVar("T")


def _chunks(items: list[T], size: int = 400) -> Iterator[list[T]]:
    """Slices small enough for an IN list on any database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def forget_prefetched(session: Session) -> None:
    """Drop the index (after a rollback it may hold objects that were never stored)."""
    session.info.pop(_INDEX, None)


def _indexed(session: Session, peer: str, location_id: str) -> Prefetched | None:
    index: dict[tuple[str, str], Prefetched] | None = session.info.get(_INDEX)
    return None if index is None else index.get((peer, location_id))


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
    # Everything is checked before anything changes: a refused push leaves no trace.
    at = parse_time(data["last_updated"]) if "last_updated" in data else now
    status = _status(data["status"]) if known is not None and "status" in data else None
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
    elif _unchanged(evse, data, at, partial=partial):
        return evse  # a read repeating what we know: nothing to write
    if not partial or "evse_id" in data:
        evse.evse_id = _text(data.get("evse_id"), 48)
    if not partial or "connectors" in data:
        evse.connectors = _connectors(data)
        evse.max_power_kw = _max_kw(evse.connectors)
    if known is None:
        session.add(evse)
        prefetched = _indexed(session, peer, location_id)
        if prefetched is not None:
            prefetched.evses[evse.uid] = evse
        if new is not None:  # the caller logs the first status once ids are known
            new.append(evse)
            return evse
        session.flush()
        assert evse.id is not None
        session.add(EvseStatusChange(evse_id=evse.id, status=evse.status, at=evse.status_since))
    elif status is not None:
        set_evse_status(session, evse, status, at, now=now)
    else:
        session.add(evse)
    return evse


def apply_connector(
    session: Session,
    evse: FleetEvse,
    connector_id: str,
    data: dict[str, Any],
    *,
    partial: bool = False,
) -> None:
    """Insert or update one connector of an EVSE from an OCPI Connector object (or a PATCH
    of some fields): the EVSE's maximum power follows its connectors'."""
    parse_time(data.get("last_updated"))  # required, and must be a DateTime
    connector_id = connector_id[:36]
    connectors = dict(evse.connectors or {})
    if partial and connector_id not in connectors:
        raise OcpiError("ocpi_2003", f"unknown connector {connector_id!r}")
    for name in POWER_FIELDS:
        value = data.get(name)
        if (
            name in data
            and value is not None
            and not (isinstance(value, str) if name == "power_type" else _number(value) is not None)
        ):
            raise OcpiError("protocol", f"{name} is not valid: {value!r}")
    fields = dict(connectors.get(connector_id, {})) if partial else {}
    fields.update({k: data[k] for k in POWER_FIELDS if k in data})
    connectors[connector_id] = fields
    evse.connectors = connectors
    evse.max_power_kw = _max_kw(connectors)
    session.add(evse)


def _unchanged(evse: Any, data: dict[str, Any], at: datetime, *, partial: bool) -> bool:
    """Whether an EVSE object says nothing new about a stored EVSE (most of every read)."""
    if at != evse.last_updated or ("status" in data and data["status"] != evse.status):
        return False
    if (not partial or "evse_id" in data) and _text(data.get("evse_id"), 48) != evse.evse_id:
        return False
    return not ((not partial or "connectors" in data) and _connectors(data) != evse.connectors)


def _hours(
    kept: dict[str, Any] | None, data: dict[str, Any], *, partial: bool
) -> dict[str, Any] | None:
    """A location's OCPI opening_times (Hours) as kept, with its time_zone (which the regular
    hours are in) alongside."""
    before = dict(kept or {})
    zone = before.pop("time_zone", None)
    hours = data.get("opening_times") if not partial or "opening_times" in data else before
    if not partial or "time_zone" in data:
        zone = data.get("time_zone")
    found = dict(hours) if isinstance(hours, dict) else {}
    if isinstance(zone, str) and zone:
        found["time_zone"] = zone[:255]
    return found or None


def apply_location(
    session: Session, peer: str, data: dict[str, Any], *, now: datetime, partial: bool = False
) -> Applied:
    """Insert or update a Location and its EVSEs from an OCPI Location object."""
    location_id = data.get("id")
    if not isinstance(location_id, str) or not location_id:
        raise OcpiError("protocol", "a Location without an id")
    location = location_of(session, peer, location_id)
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
        prefetched = _indexed(session, peer, location_id)
        if prefetched is not None:
            prefetched.location = location
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
    if not partial or "opening_times" in data or "time_zone" in data:
        location.opening_times = _hours(location.opening_times, data, partial=partial)
    location.last_updated = max(at, location.last_updated)
    session.add(location)
    applied = Applied(locations=1)
    evses = data.get("evses")
    if isinstance(evses, list):
        prefetched = _indexed(session, peer, location.id)
        known: dict[str, FleetEvse] | None = None  # None: the index knows the ones asked
        if prefetched is None:
            known = {e.uid: e for e in evses_of(session, peer, location.id)}
        elif prefetched.complete:
            known = dict(prefetched.evses)
        new: list[FleetEvse] = []
        for item in evses:
            if not isinstance(item, dict):
                continue
            uid = str(item.get("uid"))
            before = (
                known.get(uid) if known is not None else evse_of(session, peer, location.id, uid)
            )
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
    """Apply a read of the Locations sender interface (or a part of one).

    Most of a read repeats what we hold (an incremental read returns whole Locations, most of
    whose EVSEs did not change): the EVSEs held are compared as plain rows first, and only the
    new and changed ones are loaded and written."""
    total = Applied()
    locations = [d for d in locations if isinstance(d.get("id"), str) and d["id"]]
    changed = _changed_evses(session, peer, locations)
    prefetch(
        session,
        peer,
        (),
        ((loc, uid) for loc, uids in changed.items() for uid in uids),
        bare=changed,
    )
    prefetch(session, peer, (d["id"] for d in locations if d["id"] not in changed))
    for data in locations:
        if data["id"] in changed and isinstance(data.get("evses"), list):
            wanted = changed[data["id"]]
            data = {**data, "evses": [e for e in data["evses"] if str(e.get("uid")) in wanted]}
        done = apply_location(session, peer, data, now=now)
        total.locations += done.locations
        total.evses += done.evses
        total.status_changes += done.status_changes
    session.flush()
    return total


def _changed_evses(
    session: Session, peer: str, locations: list[dict[str, Any]]
) -> dict[str, set[str]]:
    """For each location we hold: the uids of its EVSEs in these OCPI objects that are new or
    say something new (one query of plain rows, no objects built)."""
    table = FleetEvse.__table__.c  # type: ignore[attr-defined]
    ids = sorted({d["id"] for d in locations})
    held: dict[tuple[str, str], Any] = {}
    known_locations: set[str] = set()
    for batch in _chunks(ids):
        rows = session.connection().execute(
            sa.select(
                table.location_id,
                table.uid,
                table.status,
                table.last_updated,
                table.evse_id,
                table.connectors,
            )
            .where(table.peer == peer)
            .where(table.location_id.in_(batch))
        )
        for row in rows:
            held[(row.location_id, row.uid)] = row
            known_locations.add(row.location_id)
    changed: dict[str, set[str]] = {}
    for data in locations:
        if data["id"] not in known_locations:
            continue  # new (or without EVSEs): applied whole
        wanted = changed.setdefault(data["id"], set())
        for item in data.get("evses") or []:
            if not isinstance(item, dict):
                continue
            mine = held.get((data["id"], str(item.get("uid"))))
            try:
                at = parse_time(item["last_updated"]) if "last_updated" in item else None
            except OcpiError:
                at = None
            if mine is None or at is None or not _unchanged(mine, item, at, partial=False):
                wanted.add(str(item.get("uid")))
    return changed


def location_of(session: Session, peer: str, location_id: str) -> FleetLocation | None:
    """One location (from the identity map when prefetched: no query, no flush)."""
    prefetched = _indexed(session, peer, location_id)
    if prefetched is not None:
        return prefetched.location
    return session.get(FleetLocation, (peer, location_id))


def evse_of(session: Session, peer: str, location_id: str, uid: str) -> FleetEvse | None:
    """One EVSE by its OCPI address (from the prefetched index when it covers it)."""
    prefetched = _indexed(session, peer, location_id)
    if prefetched is not None and (
        uid in prefetched.evses or prefetched.complete or uid in prefetched.asked
    ):
        return prefetched.evses.get(uid)
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

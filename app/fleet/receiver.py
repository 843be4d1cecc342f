"""Our OCPI 2.2.1 side: the versions and version details endpoints and the Locations receiver
interface, where the platform pushes Location and EVSE updates (PUT whole objects, PATCH some
fields), authenticated with the Token B we handed it in the credentials handshake.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.fleet import store
from app.fleet.batch import GroupCommit
from app.fleet.ocpi import VERSION, OcpiError, format_time, read_token
from app.fleet.probe import token_hash
from app.models import FleetLocation, FleetPeer

router = APIRouter(prefix="/ocpi", tags=["ocpi"], include_in_schema=False)


def answer(
    data: Any = None, *, code: int = 1000, message: str = "Success", http: int = 200
) -> JSONResponse:
    """The OCPI response format."""
    body: dict[str, Any] = {
        "status_code": code,
        "status_message": message,
        "timestamp": format_time(datetime.now(UTC)),
    }
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=http)


class Refused(Exception):
    """A request we answer with an OCPI error."""

    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _peer(request: Request, session: Session) -> FleetPeer:
    token = read_token(request.headers.get("authorization"))
    found = None
    if token:
        found = session.exec(
            select(FleetPeer).where(FleetPeer.token_b_hash == token_hash(token))
        ).first()
    if found is None:
        raise Refused(answer(code=2000, message="Unknown or missing credentials token", http=401))
    return found


def _own(peer: FleetPeer, country_code: str, party_id: str) -> None:
    if peer.country_code and (country_code, party_id) != (peer.country_code, peer.party_id):
        raise Refused(answer(code=2000, message="Not your party's location", http=403))


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused(answer(code=2001, message="The body must be a JSON object", http=400))
    return body


@router.get("/versions")
def versions(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """The OCPI versions we speak."""
    try:
        _peer(request, session)
    except Refused as refused:
        return refused.response
    return answer([{"version": VERSION, "url": f"{settings.public_url}/ocpi/{VERSION}"}])


@router.get(f"/{VERSION}")
def details(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Our 2.2.1 endpoints: the Locations receiver interface."""
    try:
        _peer(request, session)
    except Refused as refused:
        return refused.response
    base = f"{settings.public_url}/ocpi/{VERSION}"
    endpoints = [{"identifier": "locations", "role": "RECEIVER", "url": f"{base}/locations"}]
    return answer({"version": VERSION, "endpoints": endpoints})


@router.get(f"/{VERSION}/locations/{{country_code}}/{{party_id}}/{{location_id}}")
def get_location(
    request: Request, session: SessionDep, country_code: str, party_id: str, location_id: str
) -> JSONResponse:
    """What we hold of a location (receivers answer GET so senders can check)."""
    try:
        peer = _peer(request, session)
        _own(peer, country_code, party_id)
    except Refused as refused:
        return refused.response
    location = session.get(FleetLocation, (peer.name, location_id))
    if location is None:
        return answer(code=2003, message="Unknown location", http=404)
    evses = store.evses_of(session, peer.name, location_id)
    return answer(
        {
            "country_code": location.country_code,
            "party_id": location.party_id,
            "id": location.id,
            "city": location.city,
            "country": location.country,
            "last_updated": format_time(location.last_updated),
            "evses": [
                {"uid": e.uid, "status": e.status, "last_updated": format_time(e.last_updated)}
                for e in evses
            ],
        }
    )


@router.api_route(
    f"/{VERSION}/locations/{{country_code}}/{{party_id}}/{{location_id}}", methods=["PUT", "PATCH"]
)
async def push_location(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    country_code: str,
    party_id: str,
    location_id: str,
) -> JSONResponse:
    """A whole Location (PUT) or some of its fields (PATCH)."""
    try:
        body = await _body(request)
    except Refused as refused:
        return refused.response
    partial = request.method == "PATCH"

    def apply() -> JSONResponse:  # database work off the event loop
        peer = _peer(request, session)
        _own(peer, country_code, party_id)
        if not partial and body.get("id", location_id) != location_id:
            return answer(code=2001, message="The id differs from the URL", http=400)
        data = {**body, "id": location_id}
        if partial and "last_updated" not in data:
            return answer(code=2001, message="A PATCH must carry last_updated", http=400)
        data.setdefault("country_code", country_code)
        data.setdefault("party_id", party_id)
        store.apply_location(session, peer.name, data, now=clock(), partial=partial)
        return answer()

    return await _guarded(apply)


@router.api_route(
    f"/{VERSION}/locations/{{country_code}}/{{party_id}}/{{location_id}}/{{evse_uid}}",
    methods=["PUT", "PATCH"],
)
async def push_evse(
    request: Request,
    clock: ClockDep,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
) -> JSONResponse:
    """A whole EVSE (PUT) or some of its fields, usually its status (PATCH); written with the
    other pushes of the moment in one transaction (app.fleet.batch), answered once committed."""
    try:
        body = await _body(request)
    except Refused as refused:
        return refused.response
    partial = request.method == "PATCH"

    def apply(session: Session, now: datetime) -> JSONResponse:
        peer = _peer(request, session)
        _own(peer, country_code, party_id)
        if "last_updated" not in body:
            return answer(code=2001, message="last_updated is required", http=400)
        if session.get(FleetLocation, (peer.name, location_id)) is None:
            return answer(code=2003, message="Unknown location", http=404)
        known = store.evse_of(session, peer.name, location_id, evse_uid)
        if known is None and partial:
            return answer(code=2003, message="Unknown EVSE", http=404)
        data = {**body, "uid": evse_uid}
        store.apply_evse(
            session, peer.name, location_id, data, known=known, now=now, partial=partial
        )
        return answer()

    writer: GroupCommit | None = getattr(request.app.state, "fleet_writer", None)
    if writer is None:
        writer = request.app.state.fleet_writer = GroupCommit(request.app.state.engine, clock)
    try:
        result = await writer.submit(apply)
    except Refused as refused:
        return refused.response
    except OcpiError as exc:
        return _rejected(exc)
    except Exception:  # the batch did not commit: the sender retries, as OCPI senders do
        return answer(code=3000, message="Not stored, try again", http=503)
    assert isinstance(result, JSONResponse)
    return result


async def _guarded(apply: Callable[[], JSONResponse]) -> JSONResponse:
    try:
        return await run_in_threadpool(apply)
    except Refused as refused:
        return refused.response
    except OcpiError as exc:
        return _rejected(exc)


def _rejected(exc: OcpiError) -> JSONResponse:
    if exc.error_class == "ocpi_2003":
        return answer(code=2003, message=exc.detail[:200], http=404)
    return answer(code=2001, message=exc.detail[:200], http=400)

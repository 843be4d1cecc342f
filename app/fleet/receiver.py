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
from sqlmodel import Session, col, select

from app.clock import ClockDep
from app.config import SettingsDep
from app.db import SessionDep
from app.fleet import store
from app.fleet.batch import Apply, GroupCommit
from app.fleet.credentials import token_hash
from app.fleet.ocpi import VERSION, OcpiError, format_time, read_token
from app.models import FleetEvse, FleetLocation, FleetPeer

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


_PEERS = "pharos_fleet_peers"  # session.info key: peers by the hash of their Token B


def _peer(request: Request, session: Session) -> FleetPeer:
    token = read_token(request.headers.get("authorization"))
    found = None
    if token:
        digest = token_hash(token)
        known: dict[str, FleetPeer | None] = session.info.setdefault(_PEERS, {})
        if digest not in known:
            known[digest] = session.exec(
                select(FleetPeer).where(FleetPeer.token_b_hash == digest)
            ).first()
        found = known[digest]
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
    request: Request, clock: ClockDep, country_code: str, party_id: str, location_id: str
) -> JSONResponse:
    """A whole Location (PUT) or some of its fields (PATCH), written with the other pushes of
    the moment in one transaction."""
    partial = request.method == "PATCH"

    def write(
        session: Session, now: datetime, peer: FleetPeer, body: dict[str, Any]
    ) -> JSONResponse:
        if not partial and body.get("id", location_id) != location_id:
            return answer(code=2001, message="The id differs from the URL", http=400)
        data = {**body, "id": location_id}
        if partial and "last_updated" not in data:
            return answer(code=2001, message="A PATCH must carry last_updated", http=400)
        data.setdefault("country_code", country_code)
        data.setdefault("party_id", party_id)
        store.apply_location(session, peer.name, data, now=now, partial=partial)
        return answer()

    return await _push(request, clock, (country_code, party_id), write, location_id, None)


def _evse_pushed(
    session: Session,
    peer: FleetPeer,
    body: dict[str, Any],
    location_id: str,
    evse_uid: str,
    *,
    new_allowed: bool = False,
    whole_connector: str | None = None,
) -> FleetEvse | JSONResponse | None:
    """What an EVSE or Connector push must pass, in OCPI's terms: it carries last_updated; a
    whole Connector's id (`whole_connector`) is the URL's; its Location is known, and its EVSE
    too unless `new_allowed` (a whole EVSE may be new). The EVSE we hold (None: a new one), or
    the answer refusing the push."""
    if "last_updated" not in body:
        return answer(code=2001, message="last_updated is required", http=400)
    if whole_connector is not None and str(body.get("id", whole_connector)) != whole_connector:
        return answer(code=2001, message="The id differs from the URL", http=400)
    if store.location_of(session, peer.name, location_id) is None:
        return answer(code=2003, message="Unknown location", http=404)
    known = store.evse_of(session, peer.name, location_id, evse_uid)
    if known is None and not new_allowed:
        return answer(code=2003, message="Unknown EVSE", http=404)
    return known


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
    other pushes of the moment in one transaction."""
    partial = request.method == "PATCH"

    def write(
        session: Session, now: datetime, peer: FleetPeer, body: dict[str, Any]
    ) -> JSONResponse:
        known = _evse_pushed(session, peer, body, location_id, evse_uid, new_allowed=not partial)
        if isinstance(known, JSONResponse):
            return known
        data = {**body, "uid": evse_uid}
        store.apply_evse(
            session, peer.name, location_id, data, known=known, now=now, partial=partial
        )
        return answer()

    return await _push(request, clock, (country_code, party_id), write, location_id, evse_uid)


Hint = tuple[str, str, str | None]  # (token hash, location id, EVSE uid or None: all of them)


@router.api_route(
    f"/{VERSION}/locations/{{country_code}}/{{party_id}}/{{location_id}}/{{evse_uid}}/{{connector_id}}",
    methods=["PUT", "PATCH"],
)
async def push_connector(
    request: Request,
    clock: ClockDep,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
) -> JSONResponse:
    """A whole Connector (PUT) or some of its fields (PATCH) of an EVSE we know: the EVSE's
    maximum power (which decides whether it is a rapid charger) follows its connectors'."""
    partial = request.method == "PATCH"

    def write(
        session: Session, now: datetime, peer: FleetPeer, body: dict[str, Any]
    ) -> JSONResponse:
        whole = None if partial else connector_id
        evse = _evse_pushed(session, peer, body, location_id, evse_uid, whole_connector=whole)
        if isinstance(evse, JSONResponse):
            return evse
        assert evse is not None  # a connector's EVSE must be known (no new_allowed)
        store.apply_connector(session, evse, connector_id, body, partial=partial)
        return answer()

    return await _push(request, clock, (country_code, party_id), write, location_id, evse_uid)


def _prefetch(session: Session, hints: list[Hint]) -> None:
    """Load the peers, locations and EVSEs a batch of pushes addresses, in a few queries."""
    digests = sorted({digest for digest, _, _ in hints})
    known: dict[str, FleetPeer | None] = session.info.setdefault(_PEERS, {})
    known.update(dict.fromkeys(digests))
    for row in session.exec(select(FleetPeer).where(col(FleetPeer.token_b_hash).in_(digests))):
        known[row.token_b_hash or ""] = row
    whole: dict[str, set[str]] = {}
    some: dict[str, set[tuple[str, str]]] = {}
    for digest, location_id, uid in hints:
        peer = known.get(digest)
        if peer is None:
            continue
        if uid is None:
            whole.setdefault(peer.name, set()).add(location_id)
        else:
            some.setdefault(peer.name, set()).add((location_id, uid))
    for name in sorted(whole.keys() | some.keys()):
        store.prefetch(session, name, whole.get(name, ()), some.get(name, ()))


Write = Callable[[Session, datetime, FleetPeer, dict[str, Any]], JSONResponse]


async def _push(
    request: Request,
    clock: Callable[[], datetime],
    party: tuple[str, str],
    write: Write,
    location_id: str,
    evse_uid: str | None,
) -> JSONResponse:
    """A push: its body must be a JSON object; then, in the batch, the peer must be known and
    the object its party's (`party`: the URL's country code and party id) before `write`."""
    try:
        body = await _body(request)
    except Refused as refused:
        return refused.response

    def apply(session: Session, now: datetime) -> JSONResponse:
        peer = _peer(request, session)
        _own(peer, *party)
        return write(session, now, peer, body)

    return await _submit(request, clock, apply, location_id, evse_uid)


async def _submit(
    request: Request,
    clock: Callable[[], datetime],
    apply: Apply,
    location_id: str,
    evse_uid: str | None,
) -> JSONResponse:
    """Write a push with the others of the moment (app.fleet.batch); answer once committed
    (or refused)."""
    writer: GroupCommit | None = getattr(request.app.state, "fleet_writer", None)
    if writer is None:
        writer = GroupCommit(request.app.state.engine, clock, prefetch=_prefetch)
        request.app.state.fleet_writer = writer
    token = read_token(request.headers.get("authorization"))
    hint: Hint | None = (token_hash(token), location_id, evse_uid) if token else None
    try:
        result = await writer.submit(apply, hint)
    except Refused as refused:
        return refused.response
    except OcpiError as exc:
        if exc.error_class == "ocpi_2003":
            return answer(code=2003, message=exc.detail[:200], http=404)
        return answer(code=2001, message=exc.detail[:200], http=400)
    except Exception:  # the batch did not commit: the sender retries, as OCPI senders do
        return answer(code=3000, message="Not stored, try again", http=503)
    assert isinstance(result, JSONResponse)
    return result

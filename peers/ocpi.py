"""An OCPI 2.2.1 charge point operator (CPO) on loopback, built on the specification:
versions and version details, the credentials handshake (Token A for registration, Token B
handed to us, Token C issued), the Locations sender interface with date_from/date_to,
offset/limit pagination (Link, X-Total-Count, X-Limit), and pushes of Location and EVSE
updates to the client's Locations receiver. Faults the tests switch on: rejected tokens,
slow answers, 5xx answers.

Only what Pharos reads is modelled; the objects carry the fields OCPI 2.2.1 requires.
(The published Python implementation, extrawest-ocpi, pins pydantic 1 and FastAPI 0.101, so
it can't share an environment with Pharos.)
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from peers.net import free_port

VERSION = "2.2.1"
COUNTRY_CODE = "NO"
PARTY_ID = "ZAP"


def ocpi_time(at: datetime) -> str:
    """OCPI DateTime: UTC, no offset, at most three fraction digits ("2025-09-07T09:00:00Z")."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(value: str) -> datetime:
    """An OCPI DateTime (UTC, with or without Z)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def encode_token(token: str) -> str:
    """The Authorization header value OCPI 2.2.1 asks for: Token base64(UTF-8 token)."""
    return "Token " + base64.b64encode(token.encode()).decode()


def decode_token(header: str | None) -> str | None:
    """The credentials token in an Authorization header (None when malformed)."""
    if not header or not header.startswith("Token "):
        return None
    try:
        return base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def envelope(data: Any, status_code: int = 1000, message: str = "Success") -> dict[str, Any]:
    """The OCPI response format."""
    body: dict[str, Any] = {
        "status_code": status_code,
        "status_message": message,
        "timestamp": ocpi_time(datetime.now(UTC)),
    }
    if data is not None:
        body["data"] = data
    return body


def make_location(
    location_id: str,
    *,
    city: str,
    country: str = "NOR",
    evses: int = 2,
    power_kw: float = 150.0,
    status: str = "AVAILABLE",
    at: datetime,
    operator: str = "Zaptec Charge",
) -> dict[str, Any]:
    """A Location with `evses` EVSEs of one DC connector each."""
    stamp = ocpi_time(at)
    return {
        "country_code": COUNTRY_CODE,
        "party_id": PARTY_ID,
        "id": location_id,
        "publish": True,
        "name": f"{city} {location_id}",
        "address": f"{location_id} Street 1",
        "city": city,
        "country": country,
        "coordinates": {"latitude": "59.911491", "longitude": "10.757933"},
        "operator": {"name": operator},
        "time_zone": "Europe/Oslo",
        "evses": [
            {
                "uid": f"{location_id}-{n}",
                "evse_id": f"NO*ZAP*E{location_id}*{n}",
                "status": status,
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2_COMBO",
                        "format": "CABLE",
                        "power_type": "DC",
                        "max_voltage": 920,
                        "max_amperage": 200,
                        "max_electric_power": int(power_kw * 1000),
                        "last_updated": stamp,
                    }
                ],
                "last_updated": stamp,
            }
            for n in range(1, evses + 1)
        ],
        "last_updated": stamp,
    }


@dataclass
class Cpo:
    """The CPO's data, its tokens, the faults in force and a log of the requests it saw."""

    base_url: str = ""
    token_a: str = field(default_factory=lambda: "A-" + secrets.token_hex(8))
    tokens_c: set[str] = field(default_factory=set)
    client_token_b: str | None = None  # the token we use to call the client (its Token B)
    client_versions_url: str | None = None
    client_locations_url: str | None = None
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_limit: int = 3
    # faults
    reject_all: bool = False  # every token is refused (401)
    delay: float = 0.0  # seconds before every answer
    fail_5xx: int = 0  # answer this many requests with 503 before serving again
    hand_out_host: str | None = None  # the host in the URLs it hands out (e.g. "localhost")
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, query)
    pushes: list[tuple[str, int]] = field(default_factory=list)  # (url, client's answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def handed_url(self) -> str:
        """The base of the URLs this CPO hands out (its own, unless hand_out_host says)."""
        if self.hand_out_host is None:
            return self.base_url
        return self.base_url.replace("127.0.0.1", self.hand_out_host, 1)

    # --- data the tests change ---
    def add(self, location: dict[str, Any]) -> None:
        """Add or replace a location."""
        with self.lock:
            self.locations[location["id"]] = location

    def set_status(self, location_id: str, uid: str, status: str, at: datetime) -> dict[str, Any]:
        """Change one EVSE's status (and both last_updated fields); the EVSE as it is now."""
        with self.lock:
            location = self.locations[location_id]
            evse = next(e for e in location["evses"] if e["uid"] == uid)
            evse["status"] = status
            evse["last_updated"] = location["last_updated"] = ocpi_time(at)
            return dict(evse)

    # --- pushing to the client's receiver interface ---
    def _client_locations(self, http: httpx.Client) -> str:
        if self.client_locations_url:
            return self.client_locations_url
        assert self.client_versions_url and self.client_token_b, "client never registered"
        auth = {"Authorization": encode_token(self.client_token_b)}
        versions = http.get(self.client_versions_url, headers=auth).json()["data"]
        details_url = next(v["url"] for v in versions if v["version"] == VERSION)
        details = http.get(details_url, headers=auth).json()["data"]
        self.client_locations_url = next(
            e["url"]
            for e in details["endpoints"]
            if e["identifier"] == "locations" and e["role"] == "RECEIVER"
        )
        return self.client_locations_url

    def push_evse(
        self, location_id: str, uid: str, status: str, at: datetime, *, token: str | None = None
    ) -> int:
        """Change an EVSE's status and PATCH it to the client (returns the HTTP status)."""
        self.set_status(location_id, uid, status, at)
        with httpx.Client(trust_env=False, timeout=10) as http:
            base = self._client_locations(http)
            url = f"{base}/{COUNTRY_CODE}/{PARTY_ID}/{location_id}/{uid}"
            body = {"status": status, "last_updated": ocpi_time(at)}
            auth = {"Authorization": encode_token(token or self.client_token_b or "")}
            answer = http.patch(url, json=body, headers=auth)
        self.pushes.append((url, answer.status_code))
        return answer.status_code

    def push_burst(self, changes: list[tuple[str, str, str, datetime]]) -> list[int]:
        """Change many EVSEs' statuses and PATCH them all at once, each on its own
        connection, as a busy CPO does (returns the HTTP statuses, in order)."""
        with httpx.Client(trust_env=False, timeout=10) as http:
            base = self._client_locations(http)
        auth = {"Authorization": encode_token(self.client_token_b or "")}

        async def send() -> list[int]:
            limits = httpx.Limits(max_connections=len(changes))
            async with httpx.AsyncClient(trust_env=False, timeout=10, limits=limits) as http:

                async def one(location_id: str, uid: str, status: str, at: datetime) -> int:
                    self.set_status(location_id, uid, status, at)
                    url = f"{base}/{COUNTRY_CODE}/{PARTY_ID}/{location_id}/{uid}"
                    body = {"status": status, "last_updated": ocpi_time(at)}
                    return (await http.patch(url, json=body, headers=auth)).status_code

                return list(await asyncio.gather(*(one(*change) for change in changes)))

        return asyncio.run(send())

    def push_connector(
        self,
        location_id: str,
        uid: str,
        connector_id: str,
        fields: dict[str, Any],
        at: datetime,
        *,
        patch: bool = False,
    ) -> httpx.Response:
        """Add or replace a connector (PUT), or change some of its fields (PATCH), here and
        at the client's receiver interface."""
        stamp = ocpi_time(at)
        body = {**fields, "last_updated": stamp} if patch else {**fields, "id": connector_id}
        body["last_updated"] = stamp
        with self.lock:
            location = self.locations[location_id]
            evse = next(e for e in location["evses"] if e["uid"] == uid)
            connectors = [c for c in evse["connectors"] if c["id"] != connector_id]
            old: dict[str, Any] = next(
                (c for c in evse["connectors"] if c["id"] == connector_id), {}
            )
            connectors.append({**old, **body} if patch else body)
            evse["connectors"] = connectors
            evse["last_updated"] = location["last_updated"] = stamp
        with httpx.Client(trust_env=False, timeout=10) as http:
            base = self._client_locations(http)
            url = f"{base}/{COUNTRY_CODE}/{PARTY_ID}/{location_id}/{uid}/{connector_id}"
            auth = {"Authorization": encode_token(self.client_token_b or "")}
            answer = http.request("PATCH" if patch else "PUT", url, json=body, headers=auth)
        self.pushes.append((url, answer.status_code))
        return answer

    def push_locations(self, location_ids: list[str]) -> list[int]:
        """PUT whole Locations to the client all at once (returns the HTTP statuses)."""
        with httpx.Client(trust_env=False, timeout=10) as http:
            base = self._client_locations(http)
        auth = {"Authorization": encode_token(self.client_token_b or "")}

        async def send() -> list[int]:
            limits = httpx.Limits(max_connections=len(location_ids))
            async with httpx.AsyncClient(trust_env=False, timeout=10, limits=limits) as http:

                async def one(location_id: str) -> int:
                    url = f"{base}/{COUNTRY_CODE}/{PARTY_ID}/{location_id}"
                    body = self.locations[location_id]
                    return (await http.put(url, json=body, headers=auth)).status_code

                return list(await asyncio.gather(*map(one, location_ids)))

        return asyncio.run(send())

    def push_location(self, location_id: str, *, token: str | None = None) -> int:
        """PUT a whole Location to the client (returns the HTTP status)."""
        with httpx.Client(trust_env=False, timeout=10) as http:
            base = self._client_locations(http)
            url = f"{base}/{COUNTRY_CODE}/{PARTY_ID}/{location_id}"
            auth = {"Authorization": encode_token(token or self.client_token_b or "")}
            answer = http.put(url, json=self.locations[location_id], headers=auth)
        self.pushes.append((url, answer.status_code))
        return answer.status_code


def _denied(message: str = "Invalid or missing token") -> JSONResponse:
    return JSONResponse(envelope(None, 2000, message), status_code=401)


def build_app(cpo: Cpo) -> Starlette:
    """The CPO's OCPI endpoints."""

    def gate(request: Request, *, allow_a: bool = False) -> Response | str:
        cpo.log.append((request.method, request.url.path, request.url.query))
        if cpo.delay:
            time.sleep(cpo.delay)
        with cpo.lock:
            if cpo.fail_5xx > 0:
                cpo.fail_5xx -= 1
                return JSONResponse({"error": "upstream unavailable"}, status_code=503)
        token = decode_token(request.headers.get("authorization"))
        if token is None or cpo.reject_all:
            return _denied()
        if token in cpo.tokens_c or (allow_a and token == cpo.token_a):
            return token
        return _denied()

    def versions(request: Request) -> Response:
        token = gate(request, allow_a=True)
        if isinstance(token, Response):
            return token
        return JSONResponse(envelope([{"version": VERSION, "url": f"{cpo.handed_url}/ocpi/2.2.1"}]))

    def details(request: Request) -> Response:
        token = gate(request, allow_a=True)
        if isinstance(token, Response):
            return token
        base = f"{cpo.handed_url}/ocpi/2.2.1"
        endpoints = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{base}/credentials"},
            {"identifier": "credentials", "role": "RECEIVER", "url": f"{base}/credentials"},
            {"identifier": "locations", "role": "SENDER", "url": f"{base}/locations"},
        ]
        return JSONResponse(envelope({"version": VERSION, "endpoints": endpoints}))

    def ours(token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": f"{cpo.handed_url}/ocpi/versions",
            "roles": [
                {
                    "role": "CPO",
                    "party_id": PARTY_ID,
                    "country_code": COUNTRY_CODE,
                    "business_details": {"name": "Zaptec Charge"},
                }
            ],
        }

    async def credentials(request: Request) -> Response:
        token = gate(request, allow_a=True)
        if isinstance(token, Response):
            return token
        if request.method == "GET":
            if token not in cpo.tokens_c:
                return _denied()
            return JSONResponse(envelope(ours(token)))
        if token in cpo.tokens_c:  # already registered: 2.2.1 says 405
            return JSONResponse(envelope(None, 2000, "Already registered"), status_code=405)
        body = await request.json()
        if not isinstance(body.get("token"), str) or not isinstance(body.get("url"), str):
            return JSONResponse(envelope(None, 2001, "token and url required"), status_code=400)
        token_c = "C-" + secrets.token_hex(16)
        with cpo.lock:
            cpo.client_token_b, cpo.client_versions_url = body["token"], body["url"]
            cpo.client_locations_url = None
            cpo.tokens_c.add(token_c)
            cpo.token_a = "used-" + secrets.token_hex(8)  # Token A is single use
        return JSONResponse(envelope(ours(token_c)))

    def locations(request: Request) -> Response:
        token = gate(request)
        if isinstance(token, Response):
            return token
        query = request.query_params
        try:
            offset = int(query.get("offset", "0"))
            limit = min(int(query.get("limit", str(cpo.page_limit))), cpo.page_limit)
            date_from = parse_time(query["date_from"]) if "date_from" in query else None
            date_to = parse_time(query["date_to"]) if "date_to" in query else None
        except ValueError:
            return JSONResponse(envelope(None, 2001, "invalid parameters"), status_code=400)
        with cpo.lock:
            found = [
                loc
                for loc in cpo.locations.values()
                if (date_from is None or parse_time(loc["last_updated"]) >= date_from)
                and (date_to is None or parse_time(loc["last_updated"]) < date_to)
            ]
            found.sort(key=lambda loc: (loc["last_updated"], loc["id"]))
            page = [dict(loc) for loc in found[offset : offset + limit]]
        headers = {"X-Total-Count": str(len(found)), "X-Limit": str(limit)}
        if offset + limit < len(found):
            params = {k: v for k, v in query.items() if k not in ("offset", "limit")}
            params.update(offset=str(offset + limit), limit=str(limit))
            headers["Link"] = (
                f'<{cpo.handed_url}/ocpi/2.2.1/locations?{urlencode(params)}>; rel="next"'
            )
        return JSONResponse(envelope(page), headers=headers)

    def location(request: Request) -> Response:
        token = gate(request)
        if isinstance(token, Response):
            return token
        found = cpo.locations.get(request.path_params["location_id"])
        if found is None:
            return JSONResponse(envelope(None, 2003, "Unknown location"), status_code=404)
        return JSONResponse(envelope(found))

    return Starlette(
        routes=[
            Route("/ocpi/versions", versions),
            Route("/ocpi/2.2.1", details),
            Route("/ocpi/2.2.1/credentials", credentials, methods=["GET", "POST"]),
            Route("/ocpi/2.2.1/locations", locations),
            Route("/ocpi/2.2.1/locations/{location_id}", location),
        ]
    )


@contextmanager
def serve(cpo: Cpo) -> Iterator[Cpo]:
    """Run the CPO on 127.0.0.1; its base_url is set while the block runs."""
    port = free_port()
    cpo.base_url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        build_app(cpo), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OCPI peer did not start")
        time.sleep(0.02)
    try:
        yield cpo
    finally:
        server.should_exit = True
        thread.join(timeout=10)

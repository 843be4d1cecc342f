"""An OCPI 2.2.1 client: the token header, the response envelope, version discovery, the
credentials handshake and the paginated Locations sender interface.

Every failure is an OcpiError with an error class the probe reports ("auth_failed",
"timeout", "connect_error", "http_503", "ocpi_2001", "protocol").
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

VERSION = "2.2.1"
BIG_BODY = 64 * 1024
MAX_PAGES = 10_000  # a server whose Link never ends is a server fault, not a reason to hang
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class OcpiError(Exception):
    """A request to the OCPI platform failed; `error_class` says how."""

    def __init__(self, error_class: str, detail: str) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class
        self.detail = detail


def token_header(token: str) -> dict[str, str]:
    """OCPI 2.2.1's Authorization header: "Token " and the token's UTF-8 bytes in base64."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def read_token(header: str | None) -> str | None:
    """The credentials token of an Authorization header (2.2.1 base64, or a 2.1.1 plain token)."""
    if not header or not header.startswith("Token "):
        return None
    raw = header[6:].strip()
    try:
        decoded = base64.b64decode(raw, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return raw or None
    return decoded if decoded.isprintable() else raw


def format_time(at: datetime) -> str:
    """An OCPI DateTime: UTC with a Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def parse_time(value: Any) -> datetime:
    """An OCPI DateTime (RFC 3339, UTC when no offset is given)."""
    if not isinstance(value, str):
        raise OcpiError("protocol", f"not a DateTime: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise OcpiError("protocol", f"not a DateTime: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def next_link(header: str | None) -> str | None:
    """The rel="next" URL of a Link header."""
    if not header:
        return None
    found = _NEXT.search(header)
    return found.group(1) if found else None


@dataclass
class Page:
    """One answer of a list endpoint."""

    data: list[dict[str, Any]]
    total: int | None
    next_url: str | None
    timestamp: datetime | None  # the platform's clock when it answered


class OcpiClient:
    """Requests to one platform with one credentials token.

    The platform hands out URLs (version details, endpoints, next pages). One on the host staff
    configured (the versions URL's) goes through `http`; any other through the client
    `pinned()` gives, the outbound client that resolves a name once and refuses private
    addresses (DNS rebinding: app.notifications.outbound), since the platform, not staff,
    chose it.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        *,
        timeout: float,
        trusted_host: str | None = None,
        pinned: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.http = http
        self.token = token
        self.timeout = timeout
        self.trusted_host = (trusted_host or "").lower()
        self.pinned = pinned

    def client_for(self, url: str) -> httpx.AsyncClient:
        """The client a URL is requested with (see the class)."""
        host = (urlsplit(url).hostname or "").lower()
        if self.pinned is None or (self.trusted_host and host == self.trusted_host):
            return self.http
        return self.pinned()

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        """Send one request; the envelope's data and the response, or OcpiError."""
        try:
            response = await self.client_for(url).request(
                method, url, headers=token_header(self.token), timeout=self.timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise OcpiError("timeout", f"{method} {url}: no answer in {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise OcpiError("connect_error", f"{method} {url}: {exc!r}") from exc
        if response.status_code in (401, 403):
            raise OcpiError("auth_failed", f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 300:
            raise OcpiError(f"http_{response.status_code}", f"{method} {url}")
        try:
            if len(response.content) > BIG_BODY:  # a page of thousands of EVSEs: parsed in a
                # thread, so the server's event loop keeps answering pushes and readers
                body = await asyncio.to_thread(json.loads, response.content)
            else:
                body = response.json()
        except ValueError as exc:
            raise OcpiError("protocol", f"{method} {url}: not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("status_code"), int):
            raise OcpiError("protocol", f"{method} {url}: not an OCPI response")
        code = body["status_code"]
        if not 1000 <= code < 2000:
            message = str(body.get("status_message", ""))[:200]
            raise OcpiError(f"ocpi_{code}", f"{method} {url}: {message}")
        response.extensions["ocpi_timestamp"] = body.get("timestamp")
        return body.get("data"), response

    async def endpoints(self, versions_url: str) -> dict[str, str]:
        """The 2.2.1 endpoints ("credentials", "locations", ...) the platform offers us."""
        versions, _ = await self.request("GET", versions_url)
        if not isinstance(versions, list):
            raise OcpiError("protocol", "versions: data is not a list")
        url = next(
            (v.get("url") for v in versions if isinstance(v, dict) and v.get("version") == VERSION),
            None,
        )
        if not isinstance(url, str):
            raise OcpiError("protocol", f"the platform offers no OCPI {VERSION}")
        details, _ = await self.request("GET", url)
        found: dict[str, str] = {}
        for endpoint in (details or {}).get("endpoints", []):
            identifier, role = endpoint.get("identifier"), endpoint.get("role")
            # We read the platform's SENDER interfaces; credentials has both roles.
            wanted = role in ("SENDER", None) or identifier == "credentials"
            if isinstance(identifier, str) and wanted:
                found.setdefault(identifier, str(endpoint.get("url")))
        return found

    async def register(self, credentials_url: str, ours: dict[str, Any]) -> dict[str, Any]:
        """POST our credentials with Token A; the platform's credentials (with Token C)."""
        data, _ = await self.request("POST", credentials_url, json=ours)
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise OcpiError("protocol", "credentials: the answer has no token")
        return data

    async def page(self, url: str, params: dict[str, str] | None = None) -> Page:
        """One page of a list endpoint."""
        data, response = await self.request("GET", url, params=params)
        if not isinstance(data, list):
            raise OcpiError("protocol", f"GET {url}: data is not a list")
        total = response.headers.get("X-Total-Count")
        stamp = response.extensions.get("ocpi_timestamp")
        return Page(
            data=[d for d in data if isinstance(d, dict)],
            total=int(total) if total and total.isdigit() else None,
            next_url=next_link(response.headers.get("Link")),
            timestamp=parse_time(stamp) if isinstance(stamp, str) else None,
        )

    async def locations(
        self, url: str, *, date_from: datetime | None
    ) -> tuple[list[dict[str, Any]], datetime | None]:
        """Every Location changed since date_from (all without), following Link; and the
        platform's time at the first page, the date_from of the next incremental read (what
        changes while we page is read again next time)."""
        params = {"date_from": format_time(date_from)} if date_from else None
        page = await self.page(url, params)
        found, started = list(page.data), page.timestamp
        for _ in range(MAX_PAGES):
            if page.next_url is None:
                return found, started
            page = await self.page(page.next_url)
            found.extend(page.data)
        raise OcpiError("protocol", "locations: pagination does not end")

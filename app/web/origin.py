"""Where a request comes from: the client address (trusted proxies only, well-formed only)
for the audit log and sign-in limits, and redirects that never name the Host a client sent."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import service as audit


class AuditOrigin:
    """Set app.audit.service.origin for the request (after uvicorn's proxy-header handling)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = audit.origin.set(client[0][:64] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            audit.origin.reset(token)


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class ForwardedFor:
    """Who a request comes from, believing X-Forwarded-For only from trusted proxies
    (PHAROS_TRUSTED_PROXIES), and only well-formed.

    X-Forwarded-For is read from the right: addresses of trusted proxies are skipped and the
    first other one is the client. Anything that is not an IP address (a long string, a name,
    a port) ends the search and the nearest proxy's address is used instead, so the audit log,
    the request log and the rate limits never see a client address a request made up.
    """

    PEERS_KEPT = 4096  # peers whose trust is remembered (a proxy's address, mostly)

    def __init__(self, trusted: str) -> None:
        self.trusted = _networks(trusted)
        self._peers: dict[str, bool] = {}

    def _is_trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in net for net in self.trusted)

    def _peer_trusted(self, peer: str) -> bool:
        """Whether the connecting address is a trusted proxy, parsed once per address."""
        known = self._peers.get(peer)
        if known is None:
            known = self._is_trusted(_address(peer))
            if len(self._peers) >= self.PEERS_KEPT:
                self._peers.clear()
            self._peers[peer] = known
        return known

    def resolve(self, scope: Scope) -> Scope:
        """The scope as the client sent it: its client (and scheme) behind trusted proxies."""
        if not self.trusted or scope["type"] != "http" or not scope.get("client"):
            return scope  # (no proxy is trusted: the peer is the client, nothing to parse)
        if not self._peer_trusted(str(scope["client"][0])):
            return scope
        forwarded: list[str] = []
        proto = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip().lower()
        client = scope["client"]
        for entry in reversed(forwarded):
            address = _address(entry)
            if address is None:
                break
            client = (str(address), 0)
            if not self._is_trusted(address):
                break
        resolved = dict(scope, client=client)
        if proto in ("http", "https"):
            resolved["scheme"] = proto
        return resolved

    def client(self, scope: Scope) -> str:
        """The client's address, as `resolve` finds it ("-" when there is none)."""
        client = self.resolve(scope).get("client")
        return str(client[0])[:64] if client else "-"


class TrustedProxies:
    """Hand the app the request as the client sent it (see ForwardedFor)."""

    def __init__(self, app: ASGIApp, *, trusted: str) -> None:
        self.app = app
        self.forwarded = ForwardedFor(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(self.forwarded.resolve(scope), receive, send)


class RelativeRedirects:
    """Make a redirect to the request's own Host relative (the framework's trailing-slash
    redirects build absolute URLs from the Host header, which a client chooses)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                parts = urlsplit(location)
                if parts.scheme and parts.netloc:
                    path = parts.path or "/"
                    if not path.startswith("//"):
                        headers["location"] = path + (f"?{parts.query}" if parts.query else "")
            await send(message)

        await self.app(scope, receive, relative)

"""Outbound HTTP made on a subscriber's or a probe's behalf, safe against DNS rebinding.

Checking a URL's addresses and then letting the HTTP client resolve the name again to connect
is not a check: a zero-TTL name can answer a public address to the check and 127.0.0.1 to the
connect. The clients made here resolve the name once per connection, refuse it unless every
address is public (`targets.is_public`, unless private targets are allowed), and connect to
exactly the address that was checked. TLS is still verified against the host name (SNI and the
certificate check use the URL's host, not the address), and the Host header is unchanged.

Use them for every request whose target a subscriber or a remote party chose (webhooks, chat
webhooks, verification requests, URLs an OCPI peer hands out); staff-configured targets may use
a plain client.

    async with outbound.async_client(allow_private=settings.webhook_allow_private) as http:
        response = await http.post(url, content=body)

A refused address surfaces as `httpx.ConnectError` whose message starts with "refused:" and
whose `__cause__` is a `BlockedAddress`, so callers that already handle network errors need no
new branch.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpcore
import httpx

from app.notifications import targets

Resolver = Callable[[str, int], list[targets.IPAddress]]


class BlockedAddress(httpcore.ConnectError):
    """The host resolved to an address outbound requests must not reach."""


@dataclass(frozen=True)
class Pinning:
    """How a connection's address is chosen: resolve once, check every answer, connect to it."""

    allow_private: bool = False
    resolve: Resolver = field(default=targets.resolve)

    def addresses(self, host: str, port: int) -> list[targets.IPAddress]:
        """The checked addresses to try, in the resolver's order; BlockedAddress if unsafe."""
        try:
            found = self.resolve(host, port)
        except targets.UnsafeTarget as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if not found:
            raise httpcore.ConnectError(f"host {host!r} does not resolve")
        if not self.allow_private:
            bad = sorted({str(a) for a in found if not targets.is_public(a)})
            if bad:
                # One bad answer refuses the name: a rebinding name mixes good and bad ones.
                raise BlockedAddress(
                    f"refused: {host} resolves to non-public address(es) {', '.join(bad)}"
                )
        return list(dict.fromkeys(found))


class PinnedAsyncBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses `Pinning` checked."""

    def __init__(self, pinning: Pinning) -> None:
        self.pinning = pinning
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(  # the signature is httpcore's
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(self.pinning.addresses, host, port)
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("refused: unix sockets are not an outbound target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedSyncBackend(httpcore.NetworkBackend):
    """The blocking twin of PinnedAsyncBackend, for code that runs in a thread."""

    def __init__(self, pinning: Pinning) -> None:
        self.pinning = pinning
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in self.pinning.addresses(host, port):
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("refused: unix sockets are not an outbound target")


def _pool_options(
    limits: httpx.Limits | None, ssl_context: ssl.SSLContext | None
) -> dict[str, Any]:
    """httpcore pool settings from httpx's limits, as httpx's own transports pass them."""
    limits = limits or httpx.Limits()
    return {
        "ssl_context": ssl_context or httpx.create_ssl_context(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class PinnedAsyncTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections go to checked addresses."""

    def __init__(
        self,
        pinning: Pinning,
        *,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=PinnedAsyncBackend(pinning), **_pool_options(limits, ssl_context)
        )


class PinnedTransport(httpx.HTTPTransport):
    """The blocking twin of PinnedAsyncTransport."""

    def __init__(
        self,
        pinning: Pinning,
        *,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            network_backend=PinnedSyncBackend(pinning), **_pool_options(limits, ssl_context)
        )


def async_client(
    *,
    allow_private: bool,
    timeout: float = 15.0,
    limits: httpx.Limits | None = None,
    resolve: Resolver = targets.resolve,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for subscriber/probe targets: pinned, no redirects, no proxies from env."""
    transport = PinnedAsyncTransport(
        Pinning(allow_private, resolve), limits=limits, ssl_context=ssl_context
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )


def client(
    *,
    allow_private: bool,
    timeout: float = 15.0,
    limits: httpx.Limits | None = None,
    resolve: Resolver = targets.resolve,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The blocking twin of async_client."""
    pinning = Pinning(allow_private, resolve)
    transport = PinnedTransport(pinning, limits=limits, ssl_context=ssl_context)
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )

"""Where webhooks may go: public addresses only, unless private targets are allowed (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, but some stacks still route it


class UnsafeTarget(Exception):
    """The URL points somewhere webhooks must not go."""


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64 or address in NAT64_LOCAL or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (and what they embed)."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not address.is_multicast and not site_local


def parse_url(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL, or InvalidInput with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"invalid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise InvalidInput("webhook URL has no host")
    if parts.username or parts.password:
        raise InvalidInput("webhook URL must not carry credentials; use the signing secret")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (blocking: call from a thread in async code)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that resolves to a non-public address; re-run before every send."""
    host, port = parse_url(url)
    if allow_private:
        return
    addresses = resolve(host, port)
    bad = sorted({str(a) for a in addresses if not is_public(a)})
    if bad:
        raise UnsafeTarget(f"{host} resolves to non-public address(es) {', '.join(bad)}")

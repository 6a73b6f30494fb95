"""Which webhook URLs the gateway posts to.

Always: ``http``/``https`` only, a host, no credentials in the URL (they would end up in
logs and listings). With ``webhook_block_private`` (shared deployments): no loopback,
private, link-local, unspecified or otherwise non-global address, checked when the URL is
given *and* on every connection, on the addresses the name resolves to then (a name that
resolves to a public address when registered and to 127.0.0.1 later is still refused).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Optional, Union

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from whatsapp_client.gateway._errors import InvalidRequest

MAX_URL_LENGTH = 2048

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

__all__ = [
    "BlockedDestination",
    "GuardedResolver",
    "address_blocked",
    "validate_webhook_url",
]


class BlockedDestination(OSError):
    """A webhook host resolved to an address the settings refuse."""


def address_blocked(address: IPAddress) -> bool:
    """True for every address a shared deployment must not reach: loopback, private,
    link-local, unspecified, multicast, reserved, shared (CGNAT), and IPv6 forms of them."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and address_blocked(embedded):
            return True
    return not address.is_global or address.is_multicast


def _literal_address(host: str) -> Optional[IPAddress]:
    """The address a host written as one stands for, including the legacy IPv4 forms the C
    resolver still accepts (``127.1``, ``2130706433``, ``0x7f.1``, octal ``012.0.0.1``)."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c.isalnum() or c == "." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def validate_webhook_url(url: str, *, block_private: bool) -> str:
    """The URL as the gateway will post to it, or ``InvalidRequest`` saying why not."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(f"webhook url must be 1 to {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidRequest("webhook url must not contain spaces or control characters")
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise InvalidRequest(f"webhook url is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidRequest("webhook url must be http or https")
    if not parsed.host:
        raise InvalidRequest("webhook url has no host")
    if parsed.explicit_port == 0:
        raise InvalidRequest("webhook url port must be 1 to 65535")
    if parsed.user is not None or parsed.password is not None:
        raise InvalidRequest("webhook url must not contain credentials; use the signing secret")
    if block_private:
        host = parsed.host.rstrip(".").lower()
        literal = _literal_address(host)
        if host == "localhost" or host.endswith(".localhost"):
            raise InvalidRequest("webhook url on a loopback host is not allowed here")
        if literal is not None and address_blocked(literal):
            raise InvalidRequest(
                "webhook url on a loopback, private or link-local address is not allowed here"
            )
    return str(parsed)


class GuardedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver and refuses the whole answer if any address
    is blocked (one public and one private record is a rebinding attempt, not a fallback).
    ``inner``: the resolver to check (closed with this one only if it was created here)."""

    def __init__(self, inner: Optional[AbstractResolver] = None) -> None:
        self._owned = inner is None
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = _literal_address(result["host"])
            if address is None or address_blocked(address):
                raise BlockedDestination(
                    f"webhook host {host!r} resolves to a refused address ({result['host']})"
                )
        return results

    async def close(self) -> None:
        if self._owned:
            await self._inner.close()

"""The client's address behind a reverse proxy. ``X-Forwarded-For`` is honoured only when
the peer is one of ``trusted_proxies`` (addresses or networks, comma-separated); then the
client is the right-most entry that is not itself a trusted proxy (entries to its left
were written by the client and prove nothing)."""

from __future__ import annotations

import functools
import ipaddress
from typing import Union

from aiohttp import web

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@functools.lru_cache(maxsize=8)
def parse_trusted(spec: str) -> tuple[Network, ...]:
    """``ValueError`` naming the entry for anything that is not an address or network."""
    networks: list[Network] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"trusted_proxies: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in net for net in networks)


def client_address(request: web.Request, trusted_proxies: str) -> str:
    peer = request.remote or "unknown"
    networks = parse_trusted(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer

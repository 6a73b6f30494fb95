"""Which webhook URLs are accepted, and the resolver that re-checks names when connecting."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._webhook_urls import (
    MAX_URL_LENGTH,
    BlockedDestination,
    GuardedResolver,
    address_blocked,
    validate_webhook_url,
)

PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://127.8.9.10/",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://app.localhost/hook",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://224.0.0.1/",
    # Legacy numeric forms the C resolver maps onto 127.0.0.1 and 10.0.0.1.
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://012.0.0.1/",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_urls_allowed_by_default(url: str) -> None:
    assert validate_webhook_url(url, block_private=False)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_urls_refused_when_blocking(url: str) -> None:
    with pytest.raises(InvalidRequest, match="not allowed"):
        validate_webhook_url(url, block_private=True)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in?x=1", "http://93.184.216.34:8080/", "https://[2606:4700::1]/"],
)
def test_public_urls_accepted_when_blocking(url: str) -> None:
    assert validate_webhook_url(url, block_private=True) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "1 to"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "1 to"),
        ("ftp://example.com/", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com/\x00", "control"),
        ("http://[::1/", "not a valid URL"),
        ("http://hooks.example:0/", "port"),
    ],
)
def test_bad_urls_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        validate_webhook_url(url, block_private=False)


def test_address_categories() -> None:
    assert not address_blocked(ipaddress.ip_address("8.8.8.8"))
    assert not address_blocked(ipaddress.ip_address("2001:4860:4860::8888"))
    assert address_blocked(ipaddress.ip_address("198.18.0.1"))  # benchmarking range
    assert address_blocked(ipaddress.ip_address("ff02::1"))


class _Fixed(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_guarded_resolver_passes_public_addresses() -> None:
    resolver = GuardedResolver(_Fixed("93.184.216.34", "2606:2800:220:1::1"))
    results = await resolver.resolve("hooks.example", 443)
    assert [r["host"] for r in results] == ["93.184.216.34", "2606:2800:220:1::1"]


@pytest.mark.parametrize("addresses", [("127.0.0.1",), ("93.184.216.34", "10.0.0.7"), ("::1",)])
async def test_guarded_resolver_refuses_any_private_address(addresses: tuple[str, ...]) -> None:
    inner = _Fixed(*addresses)
    resolver = GuardedResolver(inner)
    with pytest.raises(BlockedDestination, match="refused address"):
        await resolver.resolve("rebind.example", 80)
    await resolver.close()
    assert not inner.closed  # the caller's, not ours to close


async def test_guarded_default_resolver_refuses_localhost() -> None:
    resolver = GuardedResolver()
    try:
        with pytest.raises(BlockedDestination, match="'localhost'"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()

"""Looked-up recipients are remembered for a while (see also test_runtime_wac1)."""

from __future__ import annotations

from whatsapp_client.gateway._recipient_cache import RecipientCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_and_the_oldest_goes_first() -> None:
    clock = Clock()
    cache = RecipientCache(ttl=10, size=2, clock=clock)
    cache.put("bob", "id-bob")
    assert cache.get("bob") == "id-bob"
    clock.now = 9.9
    assert cache.get("bob") == "id-bob"
    clock.now = 10.0
    assert cache.get("bob") is None  # expired, and dropped
    clock.now = 20.0
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"  # used: now the newest
    cache.put("c", "3")  # over the bound: the least recently used ("b") goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")
    assert cache.get("nobody") is None


def test_a_zero_ttl_keeps_nothing() -> None:
    cache = RecipientCache(ttl=0)
    cache.put("bob", "id-bob")
    assert cache.get("bob") is None

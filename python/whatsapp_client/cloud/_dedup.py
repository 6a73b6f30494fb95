"""Duplicate record of webhook events (skeleton)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Union

__all__ = ["DedupStore", "MemoryDedupStore", "SqliteDedupStore"]


class DedupStore(Protocol):
    async def seen(self, key: tuple[str, str]) -> bool: ...


class MemoryDedupStore:
    async def seen(self, key: tuple[str, str]) -> bool:
        raise NotImplementedError


class SqliteDedupStore:
    def __init__(self, path: Union[str, Path], ttl: float = 7 * 86400) -> None:
        self.path = Path(path)
        self.ttl = ttl

    async def seen(self, key: tuple[str, str]) -> bool:
        raise NotImplementedError

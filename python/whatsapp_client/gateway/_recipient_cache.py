"""Recipients already looked up: a send names its recipient by id or username, and asking
the chat server on every send costs a round trip per request on the accept path.

Only found users are kept (a username that does not exist yet may be registered any time),
for ``ttl`` seconds and at most ``size`` of them. An account deleted within that time is
accepted and then fails at sending, with the server's reason, as one deleted right after
the check would anyway.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Optional


class RecipientCache:
    def __init__(
        self, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, name: str) -> Optional[str]:
        entry = self._entries.get(name)
        if entry is None:
            return None
        user_id, expires = entry
        if self._clock() >= expires:
            del self._entries[name]
            return None
        self._entries.move_to_end(name)
        return user_id

    def put(self, name: str, user_id: str) -> None:
        if self._ttl <= 0:
            return
        self._entries[name] = (user_id, self._clock() + self._ttl)
        self._entries.move_to_end(name)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

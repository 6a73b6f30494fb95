"""Which other processes hold sockets of a user this process holds too.

A frame for a user whose sockets are all on the publishing process is written to them and
goes nowhere else: no Redis round trip, no echo to drop. That is only safe if a process
that attaches the same user elsewhere is known before it reads its backlog; otherwise a
frame committed here in between would reach neither its backlog nor its live stream. So a
process attaching a user's first socket runs a handshake before it reads the backlog:

1. it subscribes to the user's channel, then the ATTACH script adds it to
   ``online:{user}`` and answers the processes already there (the holders);
2. it sends ``join`` to each holder's process channel; a holder records the joiner (from
   then on it publishes that user's frames) and answers ``ack``;
3. it waits for every ``ack`` (at most ``join_timeout``, since a holder may have just
   crashed), counting every holder as sharing the user either way.

A process whose last socket of the user goes sends ``leave`` to the holders it knows; a
process that is no longer registered at all (crashed, reaped) is forgotten at the next
liveness round. Control messages travel on the process channels, which every version
subscribes to and where an older version ignores anything that is not its barrier token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

JOIN = b"join\n"
LEAVE = b"leave\n"
ACK = b"ack\n"
_KINDS = (JOIN, LEAVE, ACK)


def encode_control(kind: bytes, user_id: str, process_id: str) -> bytes:
    """``kind``, then the user and the sending process, newline-separated."""
    return kind + user_id.encode() + b"\n" + process_id.encode()


def decode_control(data: bytes) -> tuple[bytes, str, str] | None:
    """(kind, user, sending process), or None for anything else (a barrier token)."""
    for kind in _KINDS:
        if data.startswith(kind):
            user, sep, process = data[len(kind) :].partition(b"\n")
            if sep and user and process:
                return kind, user.decode(), process.decode()
    return None


class Sharing:
    """Per local user, the other processes holding sockets of that user; and the acks a
    joining attach is waiting for."""

    def __init__(self) -> None:
        self._others: dict[str, set[str]] = {}
        self._waiting: dict[tuple[str, str], asyncio.Future[None]] = {}

    def shared(self, user_id: str) -> bool:
        return bool(self._others.get(user_id))

    def others(self, user_id: str) -> set[str]:
        return set(self._others.get(user_id, ()))

    def add(self, user_id: str, process_id: str) -> None:
        self._others.setdefault(user_id, set()).add(process_id)

    def remove(self, user_id: str, process_id: str) -> None:
        others = self._others.get(user_id)
        if others is not None:
            others.discard(process_id)
            if not others:
                del self._others[user_id]

    def forget_user(self, user_id: str) -> set[str]:
        """The user left this process: who to tell."""
        return self._others.pop(user_id, set())

    def keep_processes(self, alive: Iterable[str]) -> None:
        """Forget every process not in ``alive`` (the registered ones)."""
        keep = set(alive)
        for user_id in list(self._others):
            others = self._others[user_id] & keep
            if others:
                self._others[user_id] = others
            else:
                del self._others[user_id]

    def expect_ack(self, user_id: str, process_id: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[(user_id, process_id)] = future
        return future

    def acked(self, user_id: str, process_id: str) -> None:
        future = self._waiting.pop((user_id, process_id), None)
        if future is not None and not future.done():
            future.set_result(None)

    def stop_waiting(self, user_id: str, process_ids: Iterable[str]) -> None:
        for process_id in process_ids:
            self._waiting.pop((user_id, process_id), None)

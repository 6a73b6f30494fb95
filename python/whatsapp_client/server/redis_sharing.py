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
from collections.abc import Callable, Iterable
from typing import Any

from whatsapp_client.server.logs import get_logger

log = get_logger("redis_fanout")

# (process, kind, user): send a control message to that process's channel, in order.
Tell = Callable[[str, bytes, str], None]

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

    def __init__(self, process_id: str, tell: Tell, join_timeout: float) -> None:
        self._process_id = process_id
        self._tell = tell
        self._join_timeout = join_timeout
        self._others: dict[str, set[str]] = {}
        self._waiting: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def join(self, user_id: str, holders: Any) -> None:
        """This process now holds the user: tell each other holder (``holders``, the
        ATTACH script's answer) and wait, bounded, until they have answered, so that they
        publish the user's frames from here on."""
        if not isinstance(holders, list):  # the script failed: Redis is down, sockets close
            return
        others = [h.decode() if isinstance(h, bytes) else str(h) for h in holders]
        others = [pid for pid in others if pid != self._process_id]
        if not others:
            return
        answers = []
        for process_id in others:
            self.add(user_id, process_id)
            answers.append(self.expect_ack(user_id, process_id))
            self._tell(process_id, JOIN, user_id)
        _done, late = await asyncio.wait(answers, timeout=self._join_timeout)
        if late:
            log.warning("holders did not answer a join", extra={"user_id": user_id})
            self.stop_waiting(user_id, others)

    def leave(self, user_id: str) -> None:
        """The user's last socket here is gone: tell the holders we knew of."""
        for process_id in self.forget_user(user_id):
            self._tell(process_id, LEAVE, user_id)

    def on_control(self, kind: bytes, user_id: str, process_id: str, held_here: bool) -> None:
        """A control message from ``process_id``; ``held_here``: we hold the user."""
        if kind == JOIN:
            if held_here:
                self.add(user_id, process_id)
            self._tell(process_id, ACK, user_id)  # after the add: frames from now on go out
        elif kind == LEAVE:
            self.remove(user_id, process_id)
        elif kind == ACK:
            self.acked(user_id, process_id)

    def shared(self, user_id: str) -> bool:
        return bool(self._others.get(user_id))

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

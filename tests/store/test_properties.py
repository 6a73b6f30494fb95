"""Random conversations between two stores, with restarts (hypothesis).

Alice and Bob each have a KeyStore. Messages are sent singly or in batches, with or without
message ids, delivered out of order, redelivered, replayed, and either store is closed and
reopened at any point. Invariants: every message decrypts exactly once to what was sent; a
redelivery with the same id returns the stored result; a replay without an id fails; a repeated
encrypt with a known id returns the same wire; state survives every reopen.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from whatsapp_client._core import KeyStore
from whatsapp_client.errors import DecryptionError, SessionNotFoundError

from .conftest import PASSWORD

CACHE = 4


def _open(directory: Path) -> KeyStore:
    return KeyStore.open(
        str(directory),
        PASSWORD,
        durability="fast",
        kdf_memory_kib=64,
        kdf_iterations=1,
        session_cache=CACHE,
    )


@dataclass
class Side:
    directory: Path
    store: KeyStore
    # Sent by this side, not yet delivered: (message id, wire, plaintext).
    in_flight: list[tuple[str, str, bytes]] = field(default_factory=list)
    # Delivered to the peer with their ids.
    delivered: list[tuple[str, str, bytes]] = field(default_factory=list)
    # Ids whose wire this side's store still keeps (not forgotten).
    kept_ids: dict[str, tuple[str, bytes]] = field(default_factory=dict)


class StoredConversation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="wac1-store-props-"))
        alice = _open(self.root / "alice")
        bob = _open(self.root / "bob")
        for store in (alice, bob):
            store.create_identity()
        bob.rotate_signed_prekey(1_700_000_000)
        opk = bob.generate_one_time_prekeys(2)[0].key_id
        alice.start_session("bob", bob.bundle(opk))
        self.sides = {
            "alice": Side(self.root / "alice", alice),
            "bob": Side(self.root / "bob", bob),
        }
        self.counter = 0

    def teardown(self) -> None:
        for side in self.sides.values():
            side.store.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def peer(name: str) -> str:
        return "bob" if name == "alice" else "alice"

    @rule(name=st.sampled_from(["alice", "bob"]), count=st.integers(1, 3), with_ids=st.booleans())
    def send(self, name: str, count: int, with_ids: bool) -> None:
        side, to = self.sides[name], self.peer(name)
        if not side.store.has_session(to):
            with pytest.raises(SessionNotFoundError):
                side.store.encrypt(to, b"too early")
            return
        ids, plaintexts = [], []
        for _ in range(count):
            self.counter += 1
            ids.append(f"m{self.counter}")
            plaintexts.append(f"{name} {self.counter}".encode())
        if count == 1:
            wires = [side.store.encrypt(to, plaintexts[0], ids[0] if with_ids else None)]
        else:
            wires = side.store.encrypt_many(to, plaintexts, ids if with_ids else None)
        for message_id, wire, plaintext in zip(ids, wires, plaintexts):
            side.in_flight.append((message_id, wire, plaintext))
            if with_ids:
                side.kept_ids[message_id] = (wire, plaintext)

    @precondition(lambda self: any(s.kept_ids for s in self.sides.values()))
    @rule(data=st.data())
    def resend_with_a_known_id(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from([n for n, s in self.sides.items() if s.kept_ids]))
        side = self.sides[name]
        message_id = data.draw(st.sampled_from(sorted(side.kept_ids)))
        wire, plaintext = side.kept_ids[message_id]
        assert side.store.encrypt(self.peer(name), plaintext, message_id) == wire

    @precondition(lambda self: any(s.kept_ids for s in self.sides.values()))
    @rule(name=st.sampled_from(["alice", "bob"]))
    def server_said_sent(self, name: str) -> None:
        side = self.sides[name]
        side.store.forget_sent(list(side.kept_ids))
        side.kept_ids.clear()

    @precondition(lambda self: any(s.in_flight for s in self.sides.values()))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from([n for n, s in self.sides.items() if s.in_flight]))
        sender = self.sides[name]
        index = data.draw(st.integers(0, len(sender.in_flight) - 1))
        message_id, wire, plaintext = sender.in_flight.pop(index)
        receiver = self.sides[self.peer(name)].store
        assert receiver.decrypt(name, wire, message_id).plaintext == plaintext
        sender.delivered.append((message_id, wire, plaintext))

    @precondition(lambda self: any(s.delivered for s in self.sides.values()))
    @rule(data=st.data(), with_id=st.booleans())
    def redeliver(self, data: st.DataObject, with_id: bool) -> None:
        name = data.draw(st.sampled_from([n for n, s in self.sides.items() if s.delivered]))
        message_id, wire, plaintext = data.draw(st.sampled_from(self.sides[name].delivered))
        receiver = self.sides[self.peer(name)].store
        if with_id:
            assert receiver.decrypt(name, wire, message_id).plaintext == plaintext
        else:
            with pytest.raises(DecryptionError):
                receiver.decrypt(name, wire)

    @rule(name=st.sampled_from(["alice", "bob"]))
    def restart(self, name: str) -> None:
        side = self.sides[name]
        fingerprint = side.store.fingerprint
        side.store.close()
        side.store = _open(side.directory)
        assert side.store.fingerprint == fingerprint

    @invariant()
    def cache_bounded(self) -> None:
        for side in self.sides.values():
            assert side.store.cached_sessions <= CACHE


TestStoredConversation = StoredConversation.TestCase
TestStoredConversation.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

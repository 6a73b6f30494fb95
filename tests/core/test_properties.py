"""Random conversations: reordering, drops, replays and tampering (hypothesis).

Invariants: every genuine message decrypts exactly once to its plaintext; every replay or
tampered message fails; a failed decrypt leaves both the session and the account equal to
what they were before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.core.helpers import flip_bit
from whatsapp_client import Account, Session
from whatsapp_client.errors import CryptoError, DecryptionError


@dataclass
class Side:
    account: Account
    session: Session
    # Sent by this side and not yet delivered: (wire, plaintext).
    in_flight: list[tuple[str, bytes]] = field(default_factory=list)
    # Delivered to the peer already (for replays).
    delivered: list[str] = field(default_factory=list)


class Conversation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        alice, bob = Account(), Account()
        bob.rotate_signed_prekey()
        opk = bob.generate_one_time_prekeys(1)[0]
        self.sides = {
            "alice": Side(alice, alice.start_session(bob.bundle(opk.key_id))),
            "bob": Side(bob, Session()),
        }
        self.counter = 0

    def peer(self, name: str) -> str:
        return "bob" if name == "alice" else "alice"

    def can_send(self, name: str) -> bool:
        return self.sides[name].session.can_encrypt

    @rule(name=st.sampled_from(["alice", "bob"]), size=st.integers(0, 300))
    def send(self, name: str, size: int) -> None:
        side = self.sides[name]
        if not side.session.can_encrypt:
            # Bob cannot speak before Alice's first message reached him.
            with pytest.raises(CryptoError):
                side.session.encrypt(b"x")
            return
        self.counter += 1
        plaintext = f"{name}-{self.counter}-".encode() + bytes(size)
        side.in_flight.append((side.session.encrypt(plaintext), plaintext))

    @rule(name=st.sampled_from(["alice", "bob"]), pick=st.integers(0, 10_000))
    def deliver(self, name: str, pick: int) -> None:
        """Delivers one in-flight message from `name`, in any order."""
        side = self.sides[name]
        if not side.in_flight:
            return
        wire, plaintext = side.in_flight.pop(pick % len(side.in_flight))
        receiver = self.sides[self.peer(name)]
        got = receiver.account.decrypt(receiver.session, wire)
        assert got.plaintext == plaintext
        side.delivered.append(wire)

    @rule(name=st.sampled_from(["alice", "bob"]), pick=st.integers(0, 10_000))
    def drop(self, name: str, pick: int) -> None:
        side = self.sides[name]
        if side.in_flight:
            side.in_flight.pop(pick % len(side.in_flight))

    @rule(name=st.sampled_from(["alice", "bob"]), pick=st.integers(0, 10_000))
    def replay(self, name: str, pick: int) -> None:
        side = self.sides[name]
        if not side.delivered:
            return
        self.expect_failure(self.peer(name), side.delivered[pick % len(side.delivered)])

    @rule(
        name=st.sampled_from(["alice", "bob"]),
        pick=st.integers(0, 10_000),
        byte=st.integers(0, 10_000),
        bit=st.integers(0, 7),
    )
    def tamper(self, name: str, pick: int, byte: int, bit: int) -> None:
        side = self.sides[name]
        if not side.in_flight:
            return
        wire, _ = side.in_flight[pick % len(side.in_flight)]
        self.expect_failure(self.peer(name), flip_bit(wire, byte, bit))

    def expect_failure(self, receiver_name: str, wire: str) -> None:
        receiver = self.sides[receiver_name]
        session_before, account_before = receiver.session.copy(), receiver.account.copy()
        with pytest.raises(DecryptionError):
            receiver.account.decrypt(receiver.session, wire)
        assert receiver.session == session_before
        assert receiver.account == account_before

    @precondition(lambda self: True)
    @invariant()
    def sessions_bounded(self) -> None:
        for side in self.sides.values():
            assert side.session.session_count <= 6


TestConversation = Conversation.TestCase
TestConversation.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_simultaneous_initiation_converges() -> None:
    """Both sides start a session before hearing from the other; nothing is lost."""
    alice, bob = Account(), Account()
    for acct in (alice, bob):
        acct.rotate_signed_prekey()
        acct.generate_one_time_prekeys(2)
    to_bob = alice.start_session(bob.bundle(bob.one_time_prekeys[0].key_id))
    to_alice = bob.start_session(alice.bundle(alice.one_time_prekeys[0].key_id))
    a1, b1 = to_bob.encrypt(b"a1"), to_alice.encrypt(b"b1")
    assert bob.decrypt(to_alice, a1).plaintext == b"a1"
    assert alice.decrypt(to_bob, b1).plaintext == b"b1"
    for i in range(5):
        a = to_bob.encrypt(f"a{i}".encode())
        b = to_alice.encrypt(f"b{i}".encode())
        assert alice.decrypt(to_bob, b).plaintext == f"b{i}".encode()
        assert bob.decrypt(to_alice, a).plaintext == f"a{i}".encode()
    assert to_bob.session_count == 2 and to_alice.session_count == 2

"""Benchmarks of the core against the installed peers, one pytest-benchmark group per operation.

Every group holds every implementation (``impl``: ours, vodozemac, python-olm, doubleratchet),
doing identical work through the adapters in ``peers``:

(a) encrypt + decrypt of a 100-byte message on an established session;
(b) a reply-in-turn exchange, where every message is a DH ratchet step (one round = 2 messages);
(c) session establishment: bundle signature check + key agreement + first message + the
    responder accepting it (fresh accounts for every round, made outside the timing);
(d) encrypt + decrypt of a 1 MiB message;
(e) 1,000 messages: our batch calls (``encrypt_many`` / ``decrypt_many``), a loop for peers.

Each benchmark asserts that what was decrypted equals what was encrypted, so with
``pytest benches --benchmark-disable`` it is a plain test that runs every operation once.
``scripts/bench.sh`` runs them timed and writes the report with ratios to vodozemac.
"""

from __future__ import annotations

from typing import Any

import pytest

from peers import Implementation

MESSAGE = (
    b'{"type":"text","text":"The quick brown fox jumps over the lazy dog. '
    b'Pack my box with five dozen jo"}'
)
assert len(MESSAGE) == 100

LARGE = bytes(ord("a") + i % 26 for i in range(1 << 20))
"""1 MiB of ASCII (python-olm's bindings return ``str``, so every plaintext is text)."""

BATCH = [b"%04d" % i + MESSAGE[4:] for i in range(1000)]
"""1,000 distinct 100-byte messages."""

ESTABLISH_ROUNDS = 300
BATCH_ROUNDS = 30

Benchmark = Any  # pytest-benchmark's fixture has no public type


def _tag(benchmark: Benchmark, operation: str, impl: str, messages: int, variant: str = "") -> None:
    benchmark.extra_info.update(
        operation=operation, implementation=impl, messages=messages, variant=variant
    )


@pytest.mark.benchmark(group="a: 100-byte message, encrypt + decrypt")
def test_a_message_100b(benchmark: Benchmark, impl: Implementation[Any, Any]) -> None:
    _tag(benchmark, "a", impl.name, 1)
    alice, bob = impl.conversation()
    encrypt, decrypt = alice.encrypt, bob.decrypt

    def once() -> bytes:
        return decrypt(encrypt(MESSAGE))

    assert benchmark(once) == MESSAGE
    # The session is still in step in both directions afterwards.
    assert alice.decrypt(bob.encrypt(MESSAGE)) == MESSAGE
    assert bob.decrypt(alice.encrypt(MESSAGE)) == MESSAGE


@pytest.mark.benchmark(group="b: reply in turn, every message a DH ratchet step")
def test_b_reply_in_turn(benchmark: Benchmark, impl: Implementation[Any, Any]) -> None:
    _tag(benchmark, "b", impl.name, 2)
    alice, bob = impl.conversation()
    to_bob, at_bob = alice.encrypt, bob.decrypt
    to_alice, at_alice = bob.encrypt, alice.decrypt

    def exchange() -> tuple[bytes, bytes]:
        return at_bob(to_bob(MESSAGE)), at_alice(to_alice(MESSAGE))

    assert benchmark(exchange) == (MESSAGE, MESSAGE)


def test_b_every_message_is_a_ratchet_step(ours: Implementation[Any, Any]) -> None:
    """What (b) measures really is a DH ratchet step per message (checked on our wire format)."""
    from whatsapp_client import _core

    alice, bob = ours.conversation()
    keys = []
    for sender, receiver in ((alice, bob), (bob, alice)) * 3:
        wire = sender.encrypt(MESSAGE)
        keys.append(_core.parse_message(wire).ratchet_key)
        assert receiver.decrypt(wire) == MESSAGE
    assert len(set(keys)) == len(keys)


@pytest.mark.benchmark(group="c: session establishment")
def test_c_establish(benchmark: Benchmark, impl: Implementation[Any, Any]) -> None:
    _tag(benchmark, "c", impl.name, 1)

    def fresh() -> tuple[tuple[Any, bytes], dict[str, Any]]:
        return (impl.prepare(), MESSAGE), {}

    done = benchmark.pedantic(
        impl.establish, setup=fresh, rounds=ESTABLISH_ROUNDS, warmup_rounds=10
    )
    assert done.first_plaintext == MESSAGE
    # The new session works: the responder can reply and the initiator answer.
    assert done.initiator.decrypt(done.responder.encrypt(MESSAGE)) == MESSAGE
    assert done.responder.decrypt(done.initiator.encrypt(MESSAGE)) == MESSAGE


@pytest.mark.benchmark(group="d: 1 MiB message, encrypt + decrypt")
def test_d_message_1mib(benchmark: Benchmark, impl: Implementation[Any, Any]) -> None:
    _tag(benchmark, "d", impl.name, 1)
    alice, bob = impl.conversation()
    encrypt, decrypt = alice.encrypt, bob.decrypt

    def once() -> bytes:
        return decrypt(encrypt(LARGE))

    assert benchmark(once) == LARGE


@pytest.mark.benchmark(group="e: 1,000 messages, encrypt + decrypt")
def test_e_batch_1000(benchmark: Benchmark, impl: Implementation[Any, Any]) -> None:
    """Our batch calls; the peers have none, so theirs is a loop over single calls."""
    _tag(benchmark, "e", impl.name, len(BATCH))
    alice, bob = impl.conversation()
    encrypt_many, decrypt_many = alice.encrypt_many, bob.decrypt_many

    def batch() -> list[bytes]:
        return decrypt_many(encrypt_many(BATCH))

    assert benchmark.pedantic(batch, rounds=BATCH_ROUNDS, warmup_rounds=2) == BATCH


@pytest.mark.benchmark(group="e: 1,000 messages, encrypt + decrypt")
def test_e_ours_encrypt_many(benchmark: Benchmark, ours: Implementation[Any, Any]) -> None:
    """``Session.encrypt_many`` of 1,000 messages alone."""
    _tag(benchmark, "e", ours.name, len(BATCH), "encrypt_many")
    alice, bob = ours.conversation()
    encrypt_many = alice.encrypt_many
    batches: list[list[Any]] = []

    def encrypt_batch() -> list[Any]:
        wires = encrypt_many(BATCH)
        batches.append(wires)
        return wires

    benchmark.pedantic(encrypt_batch, rounds=BATCH_ROUNDS)
    for wires in batches:
        assert bob.decrypt_many(wires) == BATCH


@pytest.mark.benchmark(group="e: 1,000 messages, encrypt + decrypt")
def test_e_ours_decrypt_many(benchmark: Benchmark, ours: Implementation[Any, Any]) -> None:
    """``Account.decrypt_many`` of 1,000 messages alone (encrypted outside the timing)."""
    _tag(benchmark, "e", ours.name, len(BATCH), "decrypt_many")
    alice, bob = ours.conversation()

    def fresh() -> tuple[tuple[list[Any]], dict[str, Any]]:
        return (alice.encrypt_many(BATCH),), {}

    got = benchmark.pedantic(bob.decrypt_many, setup=fresh, rounds=BATCH_ROUNDS)
    assert got == BATCH


@pytest.mark.benchmark(group="e: 1,000 messages, encrypt + decrypt")
def test_e_ours_loop(benchmark: Benchmark, ours: Implementation[Any, Any]) -> None:
    """The same 1,000 messages through single calls, to show what the batch calls save."""
    _tag(benchmark, "e", ours.name, len(BATCH), "single-call loop")
    alice, bob = ours.conversation()
    encrypt, decrypt = alice.encrypt, bob.decrypt

    def loop() -> list[bytes]:
        return [decrypt(encrypt(m)) for m in BATCH]

    assert benchmark.pedantic(loop, rounds=BATCH_ROUNDS, warmup_rounds=2) == BATCH

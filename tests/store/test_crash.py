"""Crash safety, proven by killing: a sender and a receiver run in a child process that is
killed with SIGKILL at random points, over and over.

After every kill the store must open cleanly; over the whole run no message key may have been
used for two different ciphertexts, every wire the sender's API returned must decrypt on the
receiver, and every message the receiver's API returned must be the one that was sent.

``WAC1_CRASH_KILLS`` sets the number of kills per test: 30 by default (the quick mode of the
normal suite); CI's full run sets 200 or more, and those runs carry the ``slow`` mark.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from whatsapp_client._core import Account, Session, parse_message

from .crash_child import NAIVE_KEY, open_store, plaintext

KILLS = int(os.environ.get("WAC1_CRASH_KILLS", "30"))
MARKS = [pytest.mark.slow] if KILLS >= 200 else []
CHILD = str(Path(__file__).with_name("crash_child.py"))


@dataclass
class Run:
    """One child process and the complete lines it printed."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    working: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                break  # cut off by the kill: never released
            if line == "ready\n":
                self.ready.set()
            else:
                self.lines.append(line[:-1])
                self.working.set()


def start(*args: str) -> Run:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    run = Run(proc)
    run.reader = threading.Thread(target=run.read, daemon=True)
    run.reader.start()
    return run


def kill_at_random(run: Run, rng: random.Random) -> None:
    """SIGKILL during start-up (one run in eight), or at a random time once it is working."""
    if rng.random() < 0.125:
        time.sleep(rng.uniform(0.0, 0.15))
    else:
        assert run.ready.wait(60), "the child did not open the store"
        assert run.working.wait(60), "the child released nothing"
        time.sleep(rng.uniform(0.0, 0.12))
    run.proc.send_signal(signal.SIGKILL)
    finish(run, killed=True)


def finish(run: Run, killed: bool) -> None:
    run.proc.wait(60)
    assert run.reader is not None
    run.reader.join(60)
    assert run.proc.stderr is not None
    err = run.proc.stderr.read()
    run.proc.stderr.close()
    if run.proc.stdout is not None:
        run.proc.stdout.close()
    if not killed:
        assert run.proc.returncode == 0, err
    else:
        assert run.proc.returncode in (0, -signal.SIGKILL), err


def opens_cleanly(directory: Path) -> None:
    with open_store(str(directory)) as store:
        assert store.has_identity()


def kill_sender(role: str, target: Path, kills: int, rng: random.Random) -> list[tuple[bytes, str]]:
    """Runs and kills a sender ``kills`` times; returns (plaintext, wire) of every released line."""
    released: list[tuple[bytes, str]] = []
    next_index = 0
    for k in range(kills):
        run = start(role, str(target), str(next_index), "full" if k % 2 else "fast")
        kill_at_random(run, rng)
        for line in run.lines:
            i, sub, wire = line.split("\t")
            released.append((plaintext(int(i), int(sub)), wire))
            next_index = int(i) + 1
        if role == "send":
            opens_cleanly(target)
    return released


def reused_keys(released: list[tuple[bytes, str]]) -> list[tuple[bytes, int]]:
    """Message keys (ratchet key, number) that encrypted two different ciphertexts."""
    by_key: dict[tuple[bytes, int], str] = {}
    reused = []
    for _, wire in released:
        info = parse_message(wire)
        key = (info.ratchet_key, info.message_number)
        if by_key.setdefault(key, wire) != wire:
            reused.append(key)
    return reused


@pytest.mark.parametrize("kills", [pytest.param(KILLS, marks=MARKS)])
def test_sender_killed_at_random_points(tmp_path: Path, kills: int) -> None:
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    bob = Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0].key_id
    directory = tmp_path / "alice"
    with open_store(str(directory)) as alice:
        alice.create_identity()
        alice.start_session("bob", bob.bundle(opk))

    released = kill_sender("send", directory, kills, rng)
    assert len(released) >= kills // 2, "the sender was rarely killed while sending"
    assert reused_keys(released) == [], "a message key encrypted two different ciphertexts"

    # Every released wire decrypts on the receiver, to what was sent.
    session = Session()
    done: set[str] = set()
    for sent, wire in released:
        if wire in done:
            continue  # the same id returned the same wire after a restart
        assert bob.decrypt(session, wire).plaintext == sent
        done.add(wire)


def test_the_checks_catch_a_sender_that_is_not_write_ahead(tmp_path: Path) -> None:
    """The same harness on a sender that saves its session after sending (every 50 messages):
    the kills make it reuse message keys, and the check above sees it."""
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    bob = Account()
    bob.rotate_signed_prekey()
    state = tmp_path / "session.bin"
    state.write_bytes(Account().start_session(bob.bundle()).to_bytes(NAIVE_KEY))
    released = kill_sender("send-naive", state, 8, rng)
    assert reused_keys(released) != []


@pytest.mark.parametrize("role", ["recv", "recv-batch"])
@pytest.mark.parametrize("kills", [pytest.param(KILLS, marks=MARKS)])
def test_receiver_killed_at_random_points(tmp_path: Path, kills: int, role: str) -> None:
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    directory = tmp_path / "bob"
    with open_store(str(directory)) as bob:
        bob.create_identity()
        bob.rotate_signed_prekey(1_700_000_000)
        opk = bob.generate_one_time_prekeys(3)[1].key_id
        bundle = bob.bundle(opk)
    alice = Account()
    to_bob = alice.start_session(bundle)

    wire_file = tmp_path / "wires.txt"
    expected: list[bytes] = []
    offsets: list[int] = []  # byte offset of each line, so that a child seeks to its start

    def ensure(count: int) -> None:
        """Appends messages, lightly shuffled so that some keys are skipped and used later."""
        with wire_file.open("ab") as f:
            while len(expected) < count:
                base = len(expected)
                block = [b"payload %d" % (base + j) for j in range(20)]
                wires = to_bob.encrypt_many(block)
                order = list(range(20))
                for j in range(0, 20, 5):
                    window = order[j : j + 5]
                    rng.shuffle(window)
                    order[j : j + 5] = window
                for j in order:
                    offsets.append(f.tell())
                    f.write(f"r{len(expected)}\t{wires[j]}\n".encode())
                    expected.append(block[j])

    next_index = 0
    for k in range(kills):
        ensure(next_index + 20_000)
        durability = "full" if k % 2 else "fast"
        position = [str(next_index), str(offsets[next_index])]
        run = start(role, str(directory), str(wire_file), *position, durability)
        kill_at_random(run, rng)
        for line in run.lines:
            assert line != "done", "the receiver ran out of messages before it was killed"
            i, hex_plaintext = line.split("\t")
            assert int(i) == next_index
            assert bytes.fromhex(hex_plaintext) == expected[next_index]
            next_index += 1
        opens_cleanly(directory)
    assert next_index >= kills // 2, "the receiver was rarely killed while receiving"

    # A last run to the end of the file: every message arrives exactly as sent.
    position = [str(next_index), str(offsets[next_index])]
    run = start(role, str(directory), str(wire_file), *position, "fast")
    finish(run, killed=False)
    assert run.lines[-1] == "done"
    for line in run.lines[:-1]:
        i, hex_plaintext = line.split("\t")
        assert int(i) == next_index
        assert bytes.fromhex(hex_plaintext) == expected[next_index]
        next_index += 1
    assert next_index == len(expected)
    with open_store(str(directory)) as bob:
        assert bob.one_time_prekey_count() == 2, "the one-time prekey was deleted exactly once"

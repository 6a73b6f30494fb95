"""Child process of the crash tests: a sender or a receiver that runs until it is killed.

    python crash_child.py send <dir> <start> <durability>
    python crash_child.py send-naive <session file> <start> <durability>
    python crash_child.py recv <dir> <wire file> <start> <byte offset of start> <durability>

It prints ``ready`` once the store is open, then one line per message the store's API
returned, flushing each line: the parent treats a line it has read as released to the network.
"""

from __future__ import annotations

import os
import sys

from whatsapp_client._core import KeyStore, Session

PASSWORD = "crash-test password"


def open_store(directory: str, durability: str = "full") -> KeyStore:
    """The store with small Argon2 parameters, so that every restart is quick."""
    return KeyStore.open(
        directory, PASSWORD, durability=durability, kdf_memory_kib=64, kdf_iterations=1
    )


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def plaintext(i: int, sub: int) -> bytes:
    return f"message {i}.{sub}".encode()


def send(directory: str, start: int, durability: str) -> None:
    store = open_store(directory, durability)
    emit("ready")
    i = start
    while True:
        kind = i % 10
        if kind <= 5:
            wire = store.encrypt("bob", plaintext(i, 0), message_id=f"m{i}")
            emit(f"{i}\t0\t{wire}")
        elif kind <= 7:
            emit(f"{i}\t0\t{store.encrypt('bob', plaintext(i, 0))}")
        elif kind == 8:
            ids = [f"m{i}.{s}" for s in range(3)]
            wires = store.encrypt_many("bob", [plaintext(i, s) for s in range(3)], ids)
            for s, wire in enumerate(wires):
                emit(f"{i}\t{s}\t{wire}")
        else:
            wires = store.encrypt_many("bob", [plaintext(i, s) for s in range(2)])
            for s, wire in enumerate(wires):
                emit(f"{i}\t{s}\t{wire}")
        if i % 50 == 49:
            # The server acknowledged older messages: their stored wires may go.
            store.forget_sent([f"m{j}" for j in range(i - 60, i - 10)])
        i += 1


NAIVE_KEY = bytes(range(32))


def send_naive(state_file: str, start: int) -> None:
    """A sender that is NOT write-ahead: it saves its session only every 50 messages, after
    releasing them. The crash test's checks must catch the key reuse this causes."""
    with open(state_file, "rb") as f:
        session = Session.from_bytes(f.read(), NAIVE_KEY)
    emit("ready")
    i = start
    while True:
        emit(f"{i}\t0\t{session.encrypt(plaintext(i, 0))}")
        if i % 50 == 49:
            with open(state_file + ".tmp", "wb") as f:
                f.write(session.to_bytes(NAIVE_KEY))
            os.replace(state_file + ".tmp", state_file)
        i += 1


def receive(directory: str, wire_file: str, start: int, offset: int, durability: str) -> None:
    store = open_store(directory, durability)
    emit("ready")
    with open(wire_file, "rb") as f:
        f.seek(offset)
        lines = f.read().decode().splitlines()
    for i, line in enumerate(lines, start):
        message_id, wire = line.split("\t")
        got = store.decrypt("alice", wire, message_id=message_id)
        emit(f"{i}\t{got.plaintext.hex()}")
        if i % 50 == 49:
            store.forget_received([f"r{j}" for j in range(i - 60, i - 10)])
    emit("done")


def receive_batches(
    directory: str, wire_file: str, start: int, offset: int, durability: str
) -> None:
    """As ``receive``, with ``decrypt_many`` on batches of 1 to 32 messages: a batch's results
    are released only once its one commit returned."""
    store = open_store(directory, durability)
    emit("ready")
    with open(wire_file, "rb") as f:
        f.seek(offset)
        lines = f.read().decode().splitlines()
    pos = 0
    while pos < len(lines):
        size = 1 + (start + pos) * 7 % 32
        chunk = [line.split("\t") for line in lines[pos : pos + size]]
        results = store.decrypt_many([("alice", wire, message_id) for message_id, wire in chunk])
        for k, got in enumerate(results):
            if isinstance(got, BaseException):
                raise got
            i = start + pos + k
            emit(f"{i}\t{got.plaintext.hex()}")
            if i % 50 == 49:
                store.forget_received([f"r{j}" for j in range(i - 60, i - 10)])
        pos += len(chunk)
    emit("done")


def main() -> None:
    role = sys.argv[1]
    if role == "send":
        send(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif role == "send-naive":
        send_naive(sys.argv[2], int(sys.argv[3]))
    elif role in ("recv", "recv-batch"):
        run = receive if role == "recv" else receive_batches
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()

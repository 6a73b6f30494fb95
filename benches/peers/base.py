"""The small interface every benchmarked implementation exposes.

Each adapter turns one library into the same five operations, so a benchmark runs identical
work for every implementation:

* ``prepare()`` (never timed): a fresh initiator account and a responder account whose public
  keys are published in that library's own transport form (what a key server hands out);
* ``establish(prepared, first)`` (timed in (c)): check the signature on the responder's key,
  run the key agreement, encrypt ``first`` and let the responder accept it; returns the two
  endpoints and the plaintext the responder decrypted;
* ``Endpoint.encrypt`` / ``Endpoint.decrypt``: one message to and from the library's transport
  form (a wire string or bytes), so serialization is counted for everyone;
* ``Endpoint.encrypt_many`` / ``Endpoint.decrypt_many``: a library's batch call where it has
  one, else a plain loop over the single-message calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

W = TypeVar("W")
"""A message in transport form."""

P = TypeVar("P")
"""What ``prepare`` makes: the initiator's account and the responder's published keys."""


def _loop_encrypt(encrypt: Callable[[bytes], W]) -> Callable[[Sequence[bytes]], list[W]]:
    def encrypt_many(plaintexts: Sequence[bytes]) -> list[W]:
        return [encrypt(p) for p in plaintexts]

    return encrypt_many


def _loop_decrypt(decrypt: Callable[[W], bytes]) -> Callable[[Sequence[W]], list[bytes]]:
    def decrypt_many(messages: Sequence[W]) -> list[bytes]:
        return [decrypt(m) for m in messages]

    return decrypt_many


class Endpoint(Generic[W]):
    """One side of an established conversation, as plain callables (no extra dispatch)."""

    __slots__ = ("decrypt", "decrypt_many", "encrypt", "encrypt_many")

    def __init__(
        self,
        encrypt: Callable[[bytes], W],
        decrypt: Callable[[W], bytes],
        encrypt_many: Callable[[Sequence[bytes]], list[W]] | None = None,
        decrypt_many: Callable[[Sequence[W]], list[bytes]] | None = None,
    ) -> None:
        self.encrypt = encrypt
        """Encrypts one message for the peer into transport form."""
        self.decrypt = decrypt
        """Decrypts one message from the peer and returns the plaintext."""
        self.encrypt_many = encrypt_many or _loop_encrypt(encrypt)
        """Encrypts many messages: the library's batch call, else a loop over ``encrypt``."""
        self.decrypt_many = decrypt_many or _loop_decrypt(decrypt)
        """Decrypts many messages: the library's batch call, else a loop over ``decrypt``."""


@dataclass
class Established(Generic[W]):
    """What session establishment leaves: both endpoints and the first message as received."""

    initiator: Endpoint[W]
    responder: Endpoint[W]
    first_plaintext: bytes


class Implementation(ABC, Generic[W, P]):
    """One library under benchmark."""

    name: str
    """Short name used in benchmark ids and the report."""
    description: str
    """What is measured: library, version and the primitives it uses."""

    @abstractmethod
    def prepare(self) -> P:
        """A new initiator account and a responder account with its keys published."""

    @abstractmethod
    def establish(self, prepared: P, first: bytes) -> Established[W]:
        """Signature check, key agreement, first message, and the responder accepting it."""

    def conversation(self) -> tuple[Endpoint[W], Endpoint[W]]:
        """Two endpoints of a session confirmed both ways.

        The initiator's prekey message has been accepted, the responder has replied and the
        initiator has answered, so no message carries key-agreement fields any more and the
        next message from the initiator is a plain chain step.
        """
        done = self.establish(self.prepare(), b"hello")
        alice, bob = done.initiator, done.responder
        if done.first_plaintext != b"hello":
            raise AssertionError(f"{self.name}: first message decrypted wrongly")
        for sender, receiver, text in ((bob, alice, b"hi"), (alice, bob, b"how are you?")):
            if receiver.decrypt(sender.encrypt(text)) != text:
                raise AssertionError(f"{self.name}: reply decrypted wrongly")
        return alice, bob

"""An in-process end-to-end check of the crypto engine: two accounts, X3DH, a conversation."""

from __future__ import annotations

import json
from typing import Callable

from whatsapp_client._core import Account, Session, parse_message, safety_number


def run(out: Callable[[str], None] = print) -> int:
    """Establishes a session between two fresh accounts and exchanges messages both ways."""
    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0]
    out(f"alice fingerprint  {alice.fingerprint}")
    out(f"bob fingerprint    {bob.fingerprint}")

    bundle = bob.bundle(opk.key_id)
    bundle.verify()
    to_bob = alice.start_session(bundle)
    out(
        f"alice -> bob       session started with X3DH (signed prekey {bundle.signed_prekey_id}, "
        f"one-time prekey {bundle.one_time_prekey_id})"
    )

    to_alice = Session()
    texts = ["Hello Bob \N{WAVING HAND SIGN}", "Second message", "Grüße aus Köln"]
    for text in texts:
        wire = to_bob.encrypt(json.dumps({"type": "text", "text": text}).encode())
        info = parse_message(wire)
        got = bob.decrypt(to_alice, wire)
        shown = json.loads(got.plaintext)["text"]
        prekey = "prekey message" if info.is_prekey_message else "ratchet message"
        out(f"alice -> bob  #{info.message_number}  {shown!r}  ({prekey})")
        if shown != text:
            out("FAILED: plaintext mismatch")
            return 1

    for text in ["Hi Alice!", "All good here \N{THUMBS UP SIGN}"]:
        wire = to_alice.encrypt(json.dumps({"type": "text", "text": text}).encode())
        shown = json.loads(alice.decrypt(to_bob, wire).plaintext)["text"]
        out(f"bob -> alice      {shown!r}")
        if shown != text:
            out("FAILED: plaintext mismatch")
            return 1

    numbers = (
        safety_number(alice.fingerprint, to_bob.peer_fingerprint or ""),
        safety_number(bob.fingerprint, to_alice.peer_fingerprint or ""),
    )
    out(f"safety number      {numbers[0]} (alice) / {numbers[1]} (bob)")
    if numbers[0] != numbers[1]:
        out("FAILED: safety numbers differ")
        return 1
    if bob.one_time_prekeys:
        out("FAILED: the one-time prekey was not consumed")
        return 1
    out("self-check passed")
    return 0

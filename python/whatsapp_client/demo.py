"""``whatsapp-client demo``: a real end-to-end encrypted conversation, narrated.

Starts the reference server in-process on a free loopback port with a temporary data
directory, registers two bots and walks them through every feature of the SDK: session
set-up, text with emoji, receipts, typing, presence, an image, a group chat, matching
safety numbers, a server restart that drops both connections with nothing lost, and an
8 MiB file sent as an encrypted attachment.
Everything is deleted at the end. The exit code is 0 when every step checked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from whatsapp_client._progress import ProgressBar
from whatsapp_client._tiny_png import tiny_png
from whatsapp_client._waits import wait_for
from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.client.fingerprints import format_safety_number

__all__ = ["DemoError", "main", "run_demo", "tiny_png"]

# Throwaway settings that make the demo fast. Never use them for real accounts.
SERVER_SETTINGS: dict[str, Any] = {
    "bcrypt_cost": 4,
    "sqlite_synchronous": "normal",
    "log_level": "ERROR",
}
CLIENT_OPTIONS: dict[str, Any] = {
    # The lowest Argon2id cost the store accepts (OWASP's floor).
    "kdf_memory_kib": 19 * 1024,
    "kdf_iterations": 2,
    "durability": "fast",
    "reconnect_delays": (0.1, 0.2, 0.4),
    "reconnect_jitter": 0.1,
    "http_retry_backoff": 0.05,
    "log_level": "CRITICAL",
}
STEP_TIMEOUT = 15.0


class DemoError(Exception):
    """A step of the demo did not check out."""


class _Waiter:
    """Collects events and waits for a condition on them, with a timeout."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def add(self, item: Any) -> None:
        self.items.append(item)
        self._changed.set()

    async def until(self, cond: Callable[[list[Any]], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + STEP_TIMEOUT
        while not cond(self.items):
            remaining = end - loop.time()
            if remaining <= 0:
                raise DemoError(f"timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._changed.wait(), min(remaining, 0.25))


def _short(value: str, keep: int = 8) -> str:
    return value if len(value) <= keep else value[:keep] + "…"


def _wire_summary(frame_text: str) -> str:
    """A one-line look at an encrypted frame as it left the client."""
    try:
        frame = json.loads(frame_text)
        content = str(frame["content"])
        body = json.loads(content[len("E2EE:") :])
        header = body["header"]
        x3dh = " + x3dh fields (ik, sk, ek, spk_id, opk_id)" if body.get("x3dh") else ""
        return (
            f'E2EE:{{"v":1, header: dh={_short(header["dh"], 10)} pn={header["pn"]} '
            f"n={header['n']}, ciphertext: {len(body['ciphertext'])} base64 chars{x3dh}}}"
        )
    except (ValueError, KeyError, TypeError):
        return frame_text[:80]


async def run_demo(out: Callable[[str], None] = print) -> int:
    """Runs the whole demo, writing the transcript through ``out``; returns 0 on success."""
    from whatsapp_client.server.testing import running_server

    started = time.monotonic()

    def say(text: str = "") -> None:
        out(text)

    def step(number: int, title: str) -> None:
        say()
        say(f"[{number}] {title}")

    with tempfile.TemporaryDirectory(prefix="whatsapp-client-demo-") as tmp:
        root = Path(tmp)
        async with running_server(data_dir=str(root / "server"), **SERVER_SETTINGS) as server:
            say("whatsapp-client demo: two bots talk through a real server, end-to-end encrypted")
            say(f"  server    {server.url} (in-process, temporary data directory)")
            say(
                "  note      throwaway settings for speed: bcrypt cost 4 on the server, "
                "Argon2id with 256 KiB for the local stores."
            )
            say("            Never use them for real accounts (the defaults are strong).")
            alice = WhatsAppClient(
                server_url=server.url, storage_path=str(root / "alice"), **CLIENT_OPTIONS
            )
            bob = WhatsAppClient(
                server_url=server.url, storage_path=str(root / "bob"), **CLIENT_OPTIONS
            )
            try:
                await _conversation(alice, bob, server, root, say, step)
            finally:
                await alice.close()
                await bob.close()
    say()
    say(
        f"All checks passed in {time.monotonic() - started:.1f}s. The server stopped and every "
        "file of the demo was deleted."
    )
    return 0


async def _conversation(
    alice: WhatsAppClient,
    bob: WhatsAppClient,
    server: Any,
    root: Path,
    say: Callable[[str], None],
    step: Callable[[int, str], None],
) -> None:
    # --- accounts and keys -----------------------------------------------------------------
    step(1, "Accounts and keys")
    password = secrets.token_urlsafe(16)
    a_user = await alice.register("alice_bot", password)
    b_user = await bob.register("bob_bot", password)
    a_id, b_id = a_user.id, b_user.id
    for user, client in ((a_user, alice), (b_user, bob)):
        status = await client.get_prekey_status()
        say(
            f"  {user.username:<10} registered (id {_short(user.id)}); identity keys, a signed "
            f"prekey and {status.available} one-time prekeys uploaded"
        )
        say(f"  {'':<10} fingerprint {client.get_fingerprint()}")

    inbox_alice: _Waiter = _Waiter()
    inbox_bob: _Waiter = _Waiter()
    statuses: _Waiter = _Waiter()
    typing_at_alice: _Waiter = _Waiter()
    presence_at_alice: _Waiter = _Waiter()
    group_at_alice: _Waiter = _Waiter()
    group_at_bob: _Waiter = _Waiter()
    alice.on_message(inbox_alice.add)
    bob.on_message(inbox_bob.add)
    alice.on_message_status(lambda mid, st: statuses.add((mid, st)))
    alice.on_typing(lambda uid, on: typing_at_alice.add((uid, on)))
    alice.on_presence(lambda uid, on: presence_at_alice.add((uid, on)))
    alice.on_group_message(group_at_alice.add)
    bob.on_group_message(group_at_bob.add)
    wire: list[str] = []
    send_text = alice._conn.send_text

    async def spy(text: str) -> None:
        if text.startswith('{"type":"message"'):
            wire.append(text)
        await send_text(text)

    setattr(alice._conn, "send_text", spy)  # noqa: B010 - the demo shows the wire

    # --- session set-up and the first message ----------------------------------------------
    step(2, "Session set-up (X3DH) and a first message with emoji")
    before = (await bob.get_prekey_status()).available
    first = "Hi Bob! 👋 This message is end-to-end encrypted 🔒"
    sent = await alice.send_message(b_id, first)
    after = (await bob.get_prekey_status()).available
    say("  alice     fetched bob's prekey bundle, checked its signature and ran X3DH")
    say(f"            bob's one-time prekeys on the server: {before} -> {after} (used once)")
    say(f"  alice  -> bob     {first!r}  [{sent.status}]")
    say(f"  on the wire       {_wire_summary(wire[-1])}")
    await inbox_bob.until(lambda m: len(m) >= 1, "bob to receive the first message")
    got: Message = inbox_bob.items[0]
    if got.content != first:
        raise DemoError("bob decrypted something else than alice sent")
    say(f"  bob       decrypted {got.content!r}")

    # --- receipts ------------------------------------------------------------------------
    step(3, "Receipts: sent -> delivered -> read")
    second = "Can you read this? 😄"
    msg = await alice.send_message(b_id, second)
    seen = [msg.status]
    await inbox_bob.until(lambda m: len(m) >= 2, "bob to receive the second message")
    await statuses.until(lambda s: (msg.id, "delivered") in s, "the delivered receipt")
    seen.append("delivered")
    await bob.mark_as_read(a_id, [inbox_bob.items[1].id])
    await statuses.until(lambda s: (msg.id, "read") in s, "the read receipt")
    seen.append("read")
    say(f"  alice  -> bob     {second!r}")
    say("  bob       stored it (acknowledged to the server), then marked it read")
    say(f"  status at alice   {' -> '.join(seen)}")

    # --- typing and a reply ----------------------------------------------------------------
    step(4, "Typing indicator, then a reply")
    await bob.send_typing(a_id, True)
    await typing_at_alice.until(lambda t: (b_id, True) in t, "alice to see bob typing")
    say("  alice     sees: bob is typing…")
    await bob.send_message(a_id, "Loud and clear! 🎉 Sending you a picture.")
    await bob.send_typing(a_id, False)
    await typing_at_alice.until(lambda t: t[-1] == (b_id, False), "typing to stop")
    await inbox_alice.until(lambda m: len(m) >= 1, "alice to receive bob's reply")
    say("  alice     sees: bob stopped typing")
    say(f"  bob    -> alice   {inbox_alice.items[0].content!r}")

    # --- an image --------------------------------------------------------------------------
    step(5, "An image, encrypted like any message")
    png = tiny_png()
    await bob.send_image(a_id, image_data=png, caption="A gradient 🌈", filename="gradient.png")
    await inbox_alice.until(lambda m: len(m) >= 2, "alice to receive the image")
    image: Message = inbox_alice.items[1]
    (root / "downloads").mkdir()
    saved = await alice.save_image(image, root / "downloads")
    if image.type != "image" or image.data != png or saved.read_bytes() != png:
        raise DemoError("the image did not arrive intact")
    say(f"  bob    -> alice   image ({image.mime}, {len(png)} bytes, caption {image.caption!r})")
    say(f"  alice     saved it as {saved.name}: the bytes are identical")

    # --- presence --------------------------------------------------------------------------
    step(6, "Presence")
    await presence_at_alice.until(lambda p: (b_id, True) in p, "alice to see bob online")
    say(f"  alice     sees bob online (online users: {len(alice.get_online_users())})")
    await bob.disconnect()
    await presence_at_alice.until(lambda p: p[-1] == (b_id, False), "bob to go offline")
    last = alice.get_last_seen(b_id)
    say(f"  bob       goes offline; alice sees it (last seen at {last} ms since the epoch)")
    await bob.connect()
    await presence_at_alice.until(lambda p: p[-1] == (b_id, True), "bob to come back")
    say("  bob       comes back; alice sees him online again")

    # --- a group ---------------------------------------------------------------------------
    step(7, "A group chat (relayed by the server, not end-to-end encrypted)")
    group = await alice.create_group("Demo Crew", "two bots and a server", [b_id])
    roles = ", ".join(
        f"{m.username} ({m.role})" for m in sorted(group.members, key=lambda m: m.role != "owner")
    )
    say(f"  alice     created {group.name!r}: {roles}")
    await alice.send_group_message(group.id, "Welcome to the group! 🙌")
    await group_at_bob.until(lambda g: len(g) >= 1, "bob to get the group message")
    await bob.send_group_message(group.id, "Happy to be here 😊")
    await group_at_alice.until(lambda g: len(g) >= 1, "alice to get bob's group message")
    say(f"  alice  -> {group.name}   {group_at_bob.items[0].content!r}")
    say(f"  bob    -> {group.name}   {group_at_alice.items[0].content!r}")
    history = await bob.get_group_messages(group.id)
    say(f"  bob       keeps the group's history locally: {len(history)} messages")

    # --- safety numbers --------------------------------------------------------------------
    step(8, "Safety numbers and verification")
    number_a = await alice.safety_number(b_id)
    number_b = await bob.safety_number(a_id)
    if number_a != number_b:
        raise DemoError("the safety numbers differ")
    say(f"  alice     {format_safety_number(number_a)}")
    say(f"  bob       {format_safety_number(number_b)}")
    say("            the same 60 digits on both sides; read aloud and compared in person,")
    say("            they rule out a man in the middle")
    await alice.verify_fingerprint(b_id, await alice.get_peer_fingerprint(b_id))
    await bob.send_message(a_id, "Verified? ✅")
    await inbox_alice.until(lambda m: len(m) >= 3, "alice to receive the verified message")
    say(
        "  alice     marked bob verified (stored locally, synced to the server); "
        f"bob's next message shows sender_verified={inbox_alice.items[2].sender_verified}"
    )

    # --- a dropped connection --------------------------------------------------------------
    step(9, "A dropped connection, recovered with nothing lost")
    await server.stop()
    loop = asyncio.get_running_loop()
    end = loop.time() + STEP_TIMEOUT
    while alice.is_connected() or bob.is_connected():
        if loop.time() > end:
            raise DemoError("the clients did not notice the server going away")
        await asyncio.sleep(0.01)
    say("  server    restarts: both connections drop")
    offline = [f"while the server was down #{i} 📦" for i in range(1, 4)]
    for text in offline:
        queued = await alice.send_message(b_id, text)
        where = ": kept in her encrypted outbox" if queued.status == "pending" else ""
        say(f"  alice  -> bob     {text!r}  [{queued.status}{where}]")
    await server.start()
    await inbox_bob.until(lambda m: len(m) >= 2 + len(offline), "the queued messages")
    arrived = [m.content for m in inbox_bob.items[2:]]
    if arrived != offline:
        raise DemoError(f"after the reconnect bob got {arrived!r}")
    await asyncio.sleep(0.2)
    await bob.idle()
    if [m.content for m in inbox_bob.items[2:]] != offline:
        raise DemoError("a message arrived twice")
    say("  both      reconnected by themselves; the outbox was flushed")
    say(f"  bob       received all {len(offline)}, in order, each exactly once")
    say(f"  bob       has {len(await bob.get_messages(a_id, limit=100))} messages with alice")

    await _attachment_step(alice, bob, b_id, inbox_bob, root, say, step)

    await alice.logout()
    await bob.logout()


async def _attachment_step(
    alice: WhatsAppClient,
    bob: WhatsAppClient,
    b_id: str,
    inbox_bob: _Waiter,
    root: Path,
    say: Callable[[str], None],
    step: Callable[[int, str], None],
) -> None:
    step(10, "A large file as an encrypted attachment")
    data = secrets.token_bytes(8 * 1024 * 1024)
    source = root / "holiday-video.bin"
    source.write_bytes(data)
    count = len(inbox_bob.items)
    sent = await alice.send_file(
        b_id, source, caption="8 MiB, sealed on my side", progress=ProgressBar("upload", say)
    )
    say(
        f"  alice     sealed {len(data) // 1048576} MiB in 64 KiB AES-256-GCM chunks under a "
        "fresh key and uploaded the blob;"
    )
    say(f"            the message carries only its id, key and digest [{sent.status}]")
    await inbox_bob.until(lambda m: len(m) > count, "bob to receive the attachment message")
    message: Message = inbox_bob.items[count]
    saved = await bob.download(message, root / "downloads", progress=ProgressBar("download", say))
    sent_digest = hashlib.sha256(data).hexdigest()
    got_digest = await asyncio.to_thread(lambda: hashlib.sha256(saved.read_bytes()).hexdigest())
    say(f"  alice     SHA-256 {sent_digest}")
    say(f"  bob       SHA-256 {got_digest}")
    if sent_digest != got_digest:
        raise DemoError("the attachment did not arrive intact")
    say("            the digests match: bob checked the blob's length and digest, then")
    say(f"            opened it chunk by chunk into {saved.name}")


def main(args: Sequence[str] = ()) -> int:
    """Entry point of ``whatsapp-client demo``."""
    if args and args[0] in ("-h", "--help"):
        print("usage: whatsapp-client demo\n\n" + (__doc__ or "").strip().splitlines()[0])
        return 0
    if args:
        print(f"whatsapp-client demo: unexpected arguments {list(args)!r}", file=sys.stderr)
        return 2
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="replace")
    try:
        return asyncio.run(run_demo(lambda line: print(line, flush=True)))
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

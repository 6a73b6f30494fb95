"""Timings of wac1.js (the browser implementation of WAC1) in Chromium, against the Rust
core through Python on the same machine, in one run.

    PYTHONPATH=python python benches/webcrypto_timings.py [--chromium /usr/bin/chromium]

Serves ``whatsapp_client/server/webapp/wac1`` from a local aiohttp server, opens a page in
Chromium (Playwright) and times, inside the page: a 100-byte message encrypted and
decrypted in one chain, replies in turn (each a DH ratchet step), session starts (X3DH on
both sides with a one-time prekey, and the first message), and sealing and opening a
16 MiB attachment. Then the same operations, with the same counts, on the core
(``whatsapp_client._core``). Prints milliseconds per operation, the ratio
Chromium / core, and the attachment throughput of both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.sync_api import sync_playwright

WAC1_DIR = Path(__file__).resolve().parents[1] / "python/whatsapp_client/server/webapp/wac1"
PAGE = "<!doctype html><meta charset=utf-8><title>wac1.js timings</title>"

# Counts: the same for both sides, so each figure is a per-operation mean over as many runs.
CHAIN = 1000  # messages encrypted, then decrypted, in one sending chain
TURNS = 100  # reply-in-turn rounds (two messages, each a DH ratchet step)
STARTS = 50  # session starts (X3DH both sides, with a one-time prekey, and a first message)
MIB = 16  # attachment size

TIMINGS = """async ([CHAIN, TURNS, STARTS, MIB]) => {
  const w = await import('/wac1/index.js');
  const out = {};
  const alice = await w.createAccount({oneTimeCount: 1});
  let bob = await w.createAccount({oneTimeCount: STARTS + 1});
  let ra = (await w.startSession(alice, w.emptyRecord(), w.bundleOf(bob, 1))).record;
  let rb = w.emptyRecord();
  const pt = new TextEncoder().encode('x'.repeat(100));
  const wires = [];
  let t = performance.now();
  for (let i = 0; i < CHAIN; i++) {
    const o = await w.encryptTo(ra, pt); ra = o.record; wires.push(o.wire);
  }
  const encrypt = (performance.now() - t) / CHAIN;
  t = performance.now();
  for (const wire of wires) {
    const o = await w.decryptFrom(bob, rb, wire); bob = o.account; rb = o.record;
  }
  const decrypt = (performance.now() - t) / CHAIN;
  out['100-byte message: encrypt'] = encrypt;
  out['100-byte message: decrypt'] = decrypt;
  out['100-byte message: encrypt + decrypt'] = encrypt + decrypt;
  t = performance.now();
  for (let i = 0; i < TURNS; i++) {
    const o = await w.encryptTo(rb, pt); rb = o.record;
    ra = (await w.decryptFrom(alice, ra, o.wire)).record;
    const o2 = await w.encryptTo(ra, pt); ra = o2.record;
    rb = (await w.decryptFrom(bob, rb, o2.wire)).record;
  }
  out['reply in turn (DH step), per message'] = (performance.now() - t) / (2 * TURNS);
  t = performance.now();
  for (let i = 0; i < STARTS; i++) {
    const started = await w.startSession(alice, w.emptyRecord(), w.bundleOf(bob, i + 2));
    const first = await w.encryptTo(started.record, pt);
    bob = (await w.decryptFrom(bob, w.emptyRecord(), first.wire)).account;
  }
  out['session start (X3DH both sides + first message)'] = (performance.now() - t) / STARTS;
  const big = new Uint8Array(MIB * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  t = performance.now(); const sealed = await w.sealAttachment(big);
  out[`seal ${MIB} MiB attachment`] = performance.now() - t;
  t = performance.now(); await w.openAttachment(sealed.blob, sealed);
  out[`open ${MIB} MiB attachment`] = performance.now() - t;
  return out;
}"""


def core_timings() -> dict[str, float]:
    """The same operations on the Rust core through Python (public API), in milliseconds."""
    from whatsapp_client import _core

    ms = 1000.0
    alice, bob = _core.Account(), _core.Account()
    bob.rotate_signed_prekey()
    ids = [k.key_id for k in bob.generate_one_time_prekeys(STARTS + 1)]
    sending = alice.start_session(bob.bundle(ids[0]))
    receiving = _core.Session()
    plaintext = b"x" * 100
    out: dict[str, float] = {}
    t = time.perf_counter()
    wires = [sending.encrypt(plaintext) for _ in range(CHAIN)]
    encrypt = (time.perf_counter() - t) * ms / CHAIN
    t = time.perf_counter()
    for wire in wires:
        bob.decrypt(receiving, wire)
    decrypt = (time.perf_counter() - t) * ms / CHAIN
    out["100-byte message: encrypt"] = encrypt
    out["100-byte message: decrypt"] = decrypt
    out["100-byte message: encrypt + decrypt"] = encrypt + decrypt
    t = time.perf_counter()
    for _ in range(TURNS):
        alice.decrypt(sending, receiving.encrypt(plaintext))
        bob.decrypt(receiving, sending.encrypt(plaintext))
    out["reply in turn (DH step), per message"] = (time.perf_counter() - t) * ms / (2 * TURNS)
    t = time.perf_counter()
    for key_id in ids[1:]:
        started = alice.start_session(bob.bundle(key_id))
        bob.decrypt(_core.Session(), started.encrypt(plaintext))
    out["session start (X3DH both sides + first message)"] = (time.perf_counter() - t) * ms / STARTS
    big = os.urandom(MIB * 1024 * 1024)
    t = time.perf_counter()
    blob, keys = _core.seal_attachment(big)
    out[f"seal {MIB} MiB attachment"] = (time.perf_counter() - t) * ms
    t = time.perf_counter()
    _core.open_attachment(blob, keys.key, keys.digest, keys.size)
    out[f"open {MIB} MiB attachment"] = (time.perf_counter() - t) * ms
    return out


def report(browser: dict[str, float], core: dict[str, float]) -> None:
    print(f"{'operation':50s} {'Chromium':>12s} {'core':>12s} {'ratio':>7s}")
    for name, web_ms in browser.items():
        core_ms = core[name]
        print(f"{name:50s} {web_ms:9.3f} ms {core_ms:9.3f} ms {web_ms / core_ms:6.1f}x")
    for verb in ("seal", "open"):
        name = f"{verb} {MIB} MiB attachment"
        print(
            f"{verb} throughput: Chromium {MIB * 1000 / browser[name]:.0f} MiB/s, "
            f"core {MIB * 1000 / core[name]:.0f} MiB/s"
        )


async def index(_request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


def serve(
    ready: threading.Event, box: list[Any], stop: asyncio.Event, loop: asyncio.AbstractEventLoop
) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", index)
        app.router.add_static("/wac1/", WAC1_DIR)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        box.append(site._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        ready.set()
        await stop.wait()
        await runner.cleanup()

    loop.run_until_complete(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    box: list[Any] = []
    thread = threading.Thread(target=serve, args=(ready, box, stop, loop), daemon=True)
    thread.start()
    ready.wait()
    try:
        with sync_playwright() as driver:
            args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
            browser = driver.chromium.launch(executable_path=options.chromium, args=args)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{box[0]}/")
                browser_ms = page.evaluate(TIMINGS, [CHAIN, TURNS, STARTS, MIB])
            finally:
                browser.close()
        report(browser_ms, core_timings())
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


if __name__ == "__main__":
    main()

"""Timings of wac1.js (the browser implementation of WAC1) in Chromium.

    python benches/webcrypto_timings.py [--chromium /usr/bin/chromium]

Serves ``whatsapp_client/server/webapp/wac1`` from a local aiohttp server, opens a page in
Chromium (Playwright) and times, inside the page: encrypting and decrypting 1000 messages
in one chain, replies that each take a DH ratchet step, sealing and opening a 16 MiB
attachment, and base64 of its 16 MiB blob. Prints milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.sync_api import sync_playwright

WAC1_DIR = Path(__file__).resolve().parents[1] / "python/whatsapp_client/server/webapp/wac1"
PAGE = "<!doctype html><meta charset=utf-8><title>wac1.js timings</title>"

TIMINGS = """async () => {
  const w = await import('/wac1/index.js');
  const out = {};
  const alice = await w.createAccount({oneTimeCount: 1});
  let bob = await w.createAccount({oneTimeCount: 1});
  let ra = (await w.startSession(alice, w.emptyRecord(), w.bundleOf(bob, 1))).record;
  let rb = w.emptyRecord();
  const pt = new TextEncoder().encode(JSON.stringify({type: 'text', text: 'x'.repeat(100)}));
  const N = 1000, M = 100, wires = [];
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const o = await w.encryptTo(ra, pt); ra = o.record; wires.push(o.wire);
  }
  out['encrypt, per message'] = (performance.now() - t) / N;
  t = performance.now();
  for (const wire of wires) {
    const o = await w.decryptFrom(bob, rb, wire); bob = o.account; rb = o.record;
  }
  out['decrypt in one chain, per message'] = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < M; i++) {
    const o = await w.encryptTo(rb, pt); rb = o.record;
    ra = (await w.decryptFrom(alice, ra, o.wire)).record;
    const o2 = await w.encryptTo(ra, pt); ra = o2.record;
    rb = (await w.decryptFrom(bob, rb, o2.wire)).record;
  }
  out['encrypt + decrypt with a DH step, per message'] = (performance.now() - t) / (2 * M);
  const big = new Uint8Array(16 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  t = performance.now(); const sealed = await w.sealAttachment(big);
  out['seal 16 MiB attachment'] = performance.now() - t;
  t = performance.now(); await w.openAttachment(sealed.blob, sealed);
  out['open 16 MiB attachment'] = performance.now() - t;
  t = performance.now(); const text = w.toBase64(sealed.blob);
  out['base64-encode 16 MiB'] = performance.now() - t;
  t = performance.now(); w.fromBase64(text);
  out['base64-decode 16 MiB (strict)'] = performance.now() - t;
  return out;
}"""


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
                for name, ms in page.evaluate(TIMINGS).items():
                    print(f"{name:48s} {ms:9.3f} ms")
            finally:
                browser.close()
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


if __name__ == "__main__":
    main()

"""``python -m whatsapp_client.cloud.testing --port N``: run the simulator until interrupted.

Prints the base url and phone number id to use, and the access token and app secret when it
generated them (throwaway random values of a local test double, printed so they can be used);
then ``ready``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Callable, Optional

from whatsapp_client.cloud.testing._simulator import GraphSimulator


def _template(spec: str) -> tuple[str, str, int]:
    """``NAME[:LANG[:BODY_PARAMS]]`` -> (name, language, body parameter count)."""
    name, _, rest = spec.partition(":")
    language, _, count = rest.partition(":")
    if not name or not (count or "0").isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME:LANG:BODY_PARAMS, not {spec!r}")
    return name, language or "en_US", int(count or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m whatsapp_client.cloud.testing",
        description="A local WhatsApp Cloud API (Graph API) simulator.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--access-token", default=None, help="random if not given")
    parser.add_argument("--app-secret", default=None, help="random if not given")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--rate-limit", type=float, default=None, help="messages per second")
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        type=_template,
        metavar="NAME:LANG:BODY_PARAMS",
        help="register an approved template (repeatable), e.g. hello_world:en_US:0",
    )
    return parser


async def serve(
    args: argparse.Namespace,
    stop: asyncio.Event,
    on_ready: Callable[[GraphSimulator], None] = lambda sim: None,
) -> None:
    """Runs the simulator ``args`` describe until ``stop`` is set."""
    async with GraphSimulator(
        host=args.host,
        port=args.port,
        access_token=args.access_token,
        app_secret=args.app_secret,
        phone_number_id=args.phone_number_id,
        rate_limit_per_second=args.rate_limit,
    ) as sim:
        for name, language, count in args.template:
            sim.add_template(name, language, body_params=count)
        print(f"base_url        {sim.base_url}", flush=True)
        print(f"api_version     {sim.api_version}")
        print(f"phone_number_id {sim.phone_number_id}")
        # Only values generated here are shown: the caller knows the ones it gave.
        if args.access_token is None:
            print(f"access_token    {sim.access_token}")
        if args.app_secret is None:
            print(f"app_secret      {sim.app_secret}")
        print("ready", flush=True)
        on_ready(sim)
        await stop.wait()


async def _until_terminated(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await serve(args, stop)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_until_terminated(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

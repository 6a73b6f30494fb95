"""The ``whatsapp-client`` command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Callable, Optional

USAGE = """usage: whatsapp-client COMMAND [ARGS]

commands:
  demo        run a narrated encrypted conversation between two bots (in-process server)
  selfcheck   establish an encrypted session in-process and exchange messages
  serve       run the reference server (whatsapp-client serve --help)
  gateway     run the REST and webhook gateway (whatsapp-client gateway --help)
  send-file   send a file end-to-end encrypted, with a progress bar (send-file --help)
  receive-files
              download the files sent to you, verified, with a progress bar
  cloud-demo  the Cloud API client against a local Graph API simulator (webhooks, media, replies)
"""


def _selfcheck(args: Sequence[str]) -> int:
    from whatsapp_client.selfcheck import run

    return run()


def _demo(args: Sequence[str]) -> int:
    from whatsapp_client.demo import main as demo

    return demo(args)


def _serve(args: Sequence[str]) -> int:
    from whatsapp_client.server.cli import main as serve

    return serve(list(args))


def _gateway(args: Sequence[str]) -> int:
    from whatsapp_client.gateway._cli import main as gateway

    return gateway(list(args))


def _send_file(args: Sequence[str]) -> int:
    from whatsapp_client.transfer_cli import send_main

    return send_main(args)


def _receive_files(args: Sequence[str]) -> int:
    from whatsapp_client.transfer_cli import receive_main

    return receive_main(args)


def _cloud_demo(args: Sequence[str]) -> int:
    from whatsapp_client.cloud._demo import main as cloud_demo

    return cloud_demo(args)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "demo": _demo,
    "selfcheck": _selfcheck,
    "serve": _serve,
    "gateway": _gateway,
    "send-file": _send_file,
    "receive-files": _receive_files,
    "cloud-demo": _cloud_demo,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"whatsapp-client: unknown command {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    return command(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
